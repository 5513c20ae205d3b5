//! KeyService: partners' API keys.

use rapport_kit::names;
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::support::{KEY_HOLDERS, MANAGERS, authorize, page, parse_id};
use crate::{
    app::{App, api_keys},
    convert::api_key::parse_new_key,
    domain::{
        api_key::{API_KEYS, KEY_PATTERN},
        partner::PARTNERS,
    },
};

/// The (partner, key) ids of a key's name given in `field`.
fn parse_key_name(field: &str, name: &str) -> Result<(Uuid, Uuid)> {
    names::parse_child_id(PARTNERS, API_KEYS, name, KEY_PATTERN)
        .map_err(|e| Error::invalid(field, e))
}

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateApiKeyRequest>,
) -> Result<pb::CreateApiKeyResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = v.take("parent", parse_id("parent", PARTNERS, &msg.parent));
    let new = parse_new_key(msg.api_key.as_ref(), &mut v);
    let (idem, (partner, new)) = both(
        Idempotency::new(&p, "CreateApiKey", &msg.request_id, msg),
        v.finish((partner, new)).map_err(Error::from),
    )?;
    api_keys::create(app, p, idem, partner.unwrap_or_default(), new).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetApiKeyRequest>) -> Result<pb::ApiKey> {
    let p = authorize(&req, KEY_HOLDERS)?;
    let (partner, id) = parse_key_name("name", &req.get_ref().name)?;
    api_keys::get(app, &p, partner, id).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListApiKeysRequest>,
) -> Result<pb::ListApiKeysResponse> {
    let p = authorize(&req, KEY_HOLDERS)?;
    let msg = req.get_ref();
    let (partner, page) = both(
        parse_id("parent", PARTNERS, &msg.parent),
        page(&p, &[API_KEYS, &msg.parent], msg.page_size, &msg.page_token),
    )?;
    api_keys::list(app, &p, partner, &page).await
}

pub(super) async fn rotate(
    app: &App,
    req: Request<pb::RotateApiKeyRequest>,
) -> Result<pb::RotateApiKeyResponse> {
    let p = authorize(&req, KEY_HOLDERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let ids = v.take("name", parse_key_name("name", &msg.name));
    let overlap_end = rapport_kit::validate::optional_time(
        msg.overlap_end_time.as_ref(),
        "overlap_end_time",
        &mut v,
    );
    let (idem, (ids, overlap_end)) = both(
        Idempotency::new(&p, "RotateApiKey", &msg.request_id, msg),
        v.finish((ids, overlap_end)).map_err(Error::from),
    )?;
    let (partner, id) = ids.unwrap_or_default();
    let rotation = api_keys::Rotation {
        partner,
        id,
        etag: msg.etag.clone(),
        overlap_end,
    };
    api_keys::rotate(app, p, idem, rotation).await
}

pub(super) async fn revoke(app: &App, req: Request<pb::RevokeApiKeyRequest>) -> Result<pb::ApiKey> {
    let p = authorize(&req, KEY_HOLDERS)?;
    let msg = req.get_ref();
    let (idem, (partner, id)) = both(
        Idempotency::new(&p, "RevokeApiKey", &msg.request_id, msg),
        parse_key_name("name", &msg.name),
    )?;
    api_keys::revoke(app, p, idem, partner, id, &msg.etag).await
}
