//! Partners' API keys (PA5): create, read, rotate and revoke them. Every change writes the
//! key, in the same transaction, into the copy every service authenticates with
//! (`rapport_runtime::api_keys::save`). A secret is answered once and never stored: the answer
//! kept for a request id carries the key without it.

use rapport_kit::{names, query::Page};
use rapport_proto::partners as pb;
use rapport_runtime::{
    Error, Result,
    api_keys::{self, secret::NewSecret},
    auth::Principal,
    clock::Micros,
    storage::Idempotency,
    write::Write,
};
use uuid::Uuid;

use super::{App, EVENTS, viewer};
use crate::{
    convert::api_key::{NewKey, api_key_to_proto},
    domain::{
        api_key::{self as domain, API_KEYS, ApiKey, Refusal},
        partner::{PARTNERS, State},
    },
    store::{api_keys as store, partners},
};

fn not_found(partner: Uuid, id: Uuid) -> Error {
    Error::not_found(names::format_child_id(PARTNERS, partner, API_KEYS, id))
}

fn partner_not_found(partner: Uuid) -> Error {
    Error::not_found(names::format_id(PARTNERS, partner))
}

fn refused(r: Refusal) -> Error {
    match r {
        Refusal::Revoked => Error::precondition("API_KEY_REVOKED", r.to_string()),
        Refusal::Expired => Error::precondition("API_KEY_EXPIRED", r.to_string()),
    }
}

/// Saves `key` in `w` and into the copy every service authenticates with.
async fn save(w: &mut Write, key: &ApiKey) -> Result<()> {
    let tenant = w.tenant().to_owned();
    api_keys::save(w, &key.record(&tenant)).await
}

/// Creates a key of `partner` (any partner but a terminated one); the answer carries its
/// secret, a retry's does not.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    partner: Uuid,
    new: NewKey,
) -> Result<pb::CreateApiKeyResponse> {
    let mut w = match app.write_with_secret(&p, idem.as_ref()).await? {
        Ok(w) => w,
        Err(done) => return Ok(done),
    };
    let now = w.now();
    let holder = partners::get(w.tx(), &p.tenant_id, partner, None)
        .await?
        .filter(|h| viewer(&p).sees(h.id))
        .ok_or_else(|| partner_not_found(partner))?;
    if holder.state == State::Terminated {
        return Err(Error::precondition(
            "PARTNER_TERMINATED",
            format!("{} is terminated; it gets no keys", holder.name()),
        ));
    }
    let expire_time = domain::expiry(new.expire_time, now)
        .map_err(|e| Error::invalid("api_key.expire_time", e))?;
    let id = Uuid::now_v7();
    let secret = NewSecret::generate(id);
    let key = ApiKey {
        id,
        partner_id: partner,
        display_name: new.display_name,
        scopes: new.scopes,
        prefix: secret.shown(),
        secret: secret.hash,
        secret_time: now,
        previous: None,
        expire_time,
        revoke_time: None,
        last_use_time: None,
        create_time: now,
        update_time: now,
        version: 1,
    };
    store::insert(w.tx(), &p.tenant_id, &key).await?;
    save(&mut w, &key).await?;
    let redacted = pb::CreateApiKeyResponse {
        api_key: Some(api_key_to_proto(&key, now)),
        secret: String::new(),
    };
    let full = pb::CreateApiKeyResponse {
        secret: secret.text,
        ..redacted.clone()
    };
    rapport_kit::service::commit_redacted(w, idem.as_ref(), full, &redacted).await
}

/// Key `id` of `partner`, if the caller sees the partner.
pub async fn get(app: &App, p: &Principal, partner: Uuid, id: Uuid) -> Result<pb::ApiKey> {
    if !viewer(p).sees(partner) {
        return Err(not_found(partner, id));
    }
    let mut conn = app.db().pool().acquire().await?;
    let key = store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .filter(|k| k.partner_id == partner)
        .ok_or_else(|| not_found(partner, id))?;
    Ok(api_key_to_proto(&key, app.now()))
}

/// A page of `partner`'s keys, newest first; NOT_FOUND for a partner the caller does not see.
pub async fn list(
    app: &App,
    p: &Principal,
    partner: Uuid,
    page: &Page,
) -> Result<pb::ListApiKeysResponse> {
    if !viewer(p).sees(partner) {
        return Err(partner_not_found(partner));
    }
    let mut conn = app.db().pool().acquire().await?;
    if partners::get(&mut conn, &p.tenant_id, partner, None)
        .await?
        .is_none()
    {
        return Err(partner_not_found(partner));
    }
    let mut rows = store::list(&mut conn, &p.tenant_id, partner, page).await?;
    let next_page_token = page.next_token(&mut rows, store::cursor_of);
    let now = app.now();
    Ok(pb::ListApiKeysResponse {
        api_keys: rows.iter().map(|k| api_key_to_proto(k, now)).collect(),
        next_page_token,
    })
}

/// Loads key `id` of `partner` for a change in `w`, checking `etag` when given.
async fn load(w: &mut Write, app: &App, partner: Uuid, id: Uuid, etag: &str) -> Result<ApiKey> {
    let tenant = w.tenant().to_owned();
    let key = store::get(w.tx(), &tenant, id, Some(app.db().dialect()))
        .await?
        .filter(|k| k.partner_id == partner)
        .ok_or_else(|| not_found(partner, id))?;
    names::check_etag(etag, &names::etag(id.as_bytes(), key.version), &key.name())?;
    Ok(key)
}

/// Rewrites `next` over `current` in `w`, and into every service's copy.
async fn update(w: &mut Write, current: &ApiKey, mut next: ApiKey) -> Result<ApiKey> {
    next.version = current.version + 1;
    next.update_time = w.now();
    let tenant = w.tenant().to_owned();
    if !store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    save(w, &next).await?;
    Ok(next)
}

/// What RotateApiKey asks for.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub partner: Uuid,
    pub id: Uuid,
    pub etag: String,
    pub overlap_end: Option<Micros>,
}

/// Gives key `r.id` a new secret; the current one works on until the overlap ends.
pub async fn rotate(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    r: Rotation,
) -> Result<pb::RotateApiKeyResponse> {
    if !viewer(&p).sees(r.partner) {
        return Err(not_found(r.partner, r.id));
    }
    let mut w = match app.write_with_secret(&p, idem.as_ref()).await? {
        Ok(w) => w,
        Err(done) => return Ok(done),
    };
    let now = w.now();
    let current = load(&mut w, app, r.partner, r.id, &r.etag).await?;
    let overlap_end = domain::overlap_end(r.overlap_end, now)
        .map_err(|e| Error::invalid("overlap_end_time", e))?;
    let secret = NewSecret::generate(r.id);
    let mut next = current.clone();
    next.rotate(secret.hash, secret.shown(), now, overlap_end)
        .map_err(refused)?;
    let next = update(&mut w, &current, next).await?;
    let redacted = pb::RotateApiKeyResponse {
        api_key: Some(api_key_to_proto(&next, now)),
        secret: String::new(),
    };
    let full = pb::RotateApiKeyResponse {
        secret: secret.text,
        ..redacted.clone()
    };
    rapport_kit::service::commit_redacted(w, idem.as_ref(), full, &redacted).await
}

/// Revokes key `id` of `partner`; a revoked key is answered as it is.
pub async fn revoke(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    partner: Uuid,
    id: Uuid,
    etag: &str,
) -> Result<pb::ApiKey> {
    if !viewer(&p).sees(partner) {
        return Err(not_found(partner, id));
    }
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    let current = load(&mut w, app, partner, id, etag).await?;
    let mut next = current.clone();
    let out = if next.revoke(now) {
        update(&mut w, &current, next).await?
    } else {
        current
    };
    w.commit(api_key_to_proto(&out, now)).await
}

/// Revokes every key of `partner` in `w` (the partner was terminated).
pub async fn revoke_all(w: &mut Write, partner: Uuid) -> Result<()> {
    let tenant = w.tenant().to_owned();
    let now = w.now();
    for current in store::live_of(w.tx(), &tenant, partner).await? {
        let mut next = current.clone();
        next.revoke(now);
        update(w, &current, next).await?;
    }
    Ok(())
}

/// Records a use of key `id` reported by a service at `at`.
pub async fn used(app: &App, tenant: &str, id: Uuid, at: Micros) -> Result<()> {
    let mut tx = app.db().begin().await?;
    store::used(&mut tx, tenant, id, at).await?;
    tx.commit().await
}
