//! A resource as its Get answers it, through the service's cache: the encoded message when
//! cached (a hit costs one decode, no database), else loaded and cached. Whoever changes the
//! resource drops the key at the commit (`Write::invalidate`), and a load that raced with such a
//! drop is not cached (`Cache::fill`), so this process never serves a copy older than its last
//! committed change.

use std::time::Duration;

use prost::Message;
use rapport_runtime::{Result, cache::Cache};

/// `key`'s message: the cached one when there is one that decodes, otherwise what `load`
/// returns, cached for `ttl`.
pub async fn message<M: Message + Default>(
    cache: &Cache,
    key: &str,
    ttl: Duration,
    load: impl Future<Output = Result<M>>,
) -> Result<M> {
    if let Some(m) = cache
        .get(key)
        .await
        .and_then(|bytes| M::decode(bytes.as_slice()).ok())
    {
        return Ok(m);
    }
    let token = cache.fill_token();
    let m = load.await?;
    cache.fill(key, &m.encode_to_vec(), ttl, token).await;
    Ok(m)
}
