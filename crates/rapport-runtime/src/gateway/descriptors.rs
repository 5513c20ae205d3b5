//! The descriptors the gateway works from: Rapport's protos (with their `google.api.http`
//! options and comments) and the google.rpc error details, so that details in a status render
//! as JSON.

use prost::Message as _;
use prost_reflect::DescriptorPool;

/// Rapport's descriptor set, then every file of the error details' set it does not have yet
/// (both carry some well-known types).
pub fn pool() -> Result<DescriptorPool, String> {
    let mut pool = DescriptorPool::decode(rapport_proto::FILE_DESCRIPTOR_SET)
        .map_err(|e| format!("the descriptor set does not decode: {e}"))?;
    let details = prost_types::FileDescriptorSet::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .map_err(|e| format!("the error details' descriptor set does not decode: {e}"))?;
    let missing: Vec<_> = details
        .file
        .into_iter()
        .filter(|f| pool.get_file_by_name(f.name()).is_none())
        .collect();
    pool.add_file_descriptor_protos(missing)
        .map_err(|e| format!("the error details' descriptors do not fit: {e}"))?;
    Ok(pool)
}
