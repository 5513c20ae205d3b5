//! API keys: long-lived credentials of other systems (a partner's ERP, say), as every service
//! authenticates them.
//!
//! A key is owned by one service (the partners service keeps partners' keys), which writes each
//! change of a key with [`save`], in the transaction of the change: into its own copy of the
//! runtime table `api_keys`, and as the event `rapport.access.v1.api_key.changed` on the stream
//! `access`, published at once besides through the outbox, as revocations are
//! ([`crate::access`]). Every service keeps its own copy from those events ([`KeyHandler`]), so
//! a key works on every service's port, each reading only its own database. Authentication
//! ([`ApiKeys::authenticate`]) reads that copy through an answer kept for [`CHECK_TTL`]; the
//! event drops the kept answer when it arrives, so a revocation takes effect everywhere
//! within moments, and within [`CHECK_TTL`] at worst.
//!
//! Each process reports the use of a key at most once a minute, as the event
//! `rapport.access.v1.api_key.used` written to its own outbox, for the owner to record when the
//! key was last used: never a write per request.

mod check;
mod handler;
pub mod scope;
pub mod secret;

pub use check::{ApiKeys, CHECK_TTL, USE_REPORT_INTERVAL};
pub use handler::KeyHandler;

use rapport_proto::access as pb;
use uuid::Uuid;

use crate::{
    Result,
    access::EVENTS,
    auth::Role,
    clock::{Micros, from_timestamp, to_timestamp},
    storage::Tx,
    write::Write,
};
use secret::SecretHash;

/// A secret replaced by a rotation that still works for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Previous {
    /// Its hash.
    pub hash: SecretHash,
    /// When it was issued.
    pub time: Micros,
    /// It works until then.
    pub until: Micros,
}

impl Previous {
    /// The stored form of `p`: the hex hash, the issue time and the end, or empty and zeros
    /// when there is none.
    pub fn columns(p: Option<&Previous>) -> (String, Micros, Micros) {
        p.map_or((String::new(), 0, 0), |p| {
            (secret::to_hex(&p.hash), p.time, p.until)
        })
    }
}

/// An API key as authentication needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key id, as its secret names it.
    pub key_id: Uuid,
    /// The tenant a request with the key acts in.
    pub tenant: String,
    /// The subject it acts as, e.g. `partners/{partner}`.
    pub subject: String,
    /// The roles it holds.
    pub roles: Vec<Role>,
    /// The methods it may call (see [`scope`]).
    pub scopes: Vec<String>,
    /// The hash of the current secret.
    pub secret: SecretHash,
    /// When the current secret was issued.
    pub secret_time: Micros,
    /// The secret before the last rotation, while it still works.
    pub previous: Option<Previous>,
    /// The key works until then.
    pub expire_time: Micros,
    /// When it was revoked.
    pub revoke_time: Option<Micros>,
    /// Increases with every change; a copy is replaced only by a higher version.
    pub version: i64,
}

impl KeyRecord {
    /// When the secret whose hash is `hash` was issued, if it is one of the key's and works
    /// at `now`. Both hashes are compared whatever the first gives, so the time taken does
    /// not tell which matched.
    pub fn issue_time_of(&self, hash: &SecretHash, now: Micros) -> Option<Micros> {
        let current = secret::same(&self.secret, hash);
        let previous = self
            .previous
            .as_ref()
            .filter(|p| secret::same(&p.hash, hash) && now < p.until);
        if current {
            Some(self.secret_time)
        } else {
            previous.map(|p| p.time)
        }
    }

    /// The event that carries the record to every service.
    pub fn to_event(&self) -> pb::ApiKeyChanged {
        pb::ApiKeyChanged {
            key_id: self.key_id.hyphenated().to_string(),
            subject: self.subject.clone(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            scopes: self.scopes.clone(),
            secret_sha256: self.secret.to_vec(),
            secret_time: Some(to_timestamp(self.secret_time)),
            previous_sha256: self
                .previous
                .as_ref()
                .map(|p| p.hash.to_vec())
                .unwrap_or_default(),
            previous_time: self.previous.as_ref().map(|p| to_timestamp(p.time)),
            previous_until: self.previous.as_ref().map(|p| to_timestamp(p.until)),
            expire_time: Some(to_timestamp(self.expire_time)),
            revoke_time: self.revoke_time.map(to_timestamp),
            version: self.version,
        }
    }

    /// The record an event of `tenant` carries; `None` if it is not whole (nothing then
    /// authenticates with it).
    pub fn from_event(tenant: &str, e: &pb::ApiKeyChanged) -> Option<Self> {
        let time = |t: &Option<prost_types::Timestamp>| t.as_ref().and_then(from_timestamp);
        let previous = match secret::from_bytes(&e.previous_sha256) {
            Some(hash) => Some(Previous {
                hash,
                time: time(&e.previous_time)?,
                until: time(&e.previous_until)?,
            }),
            None => None,
        };
        Some(Self {
            key_id: Uuid::try_parse(&e.key_id).ok()?,
            tenant: tenant.to_owned(),
            subject: e.subject.clone(),
            roles: e
                .roles
                .iter()
                .map(|r| r.parse().ok())
                .collect::<Option<_>>()?,
            scopes: e.scopes.clone(),
            secret: secret::from_bytes(&e.secret_sha256)?,
            secret_time: time(&e.secret_time)?,
            previous,
            expire_time: time(&e.expire_time)?,
            revoke_time: time(&e.revoke_time),
            version: e.version,
        })
    }
}

/// Writes `record` in `w`, the owner's change of the key: into this service's copy, and to
/// every other service as `api_key.changed`, published at once after the commit. This
/// process forgets its kept answer for the key once the write commits.
pub async fn save(w: &mut Write, record: &KeyRecord) -> Result<()> {
    store(w.tx(), record).await?;
    let id = record.key_id.hyphenated().to_string();
    w.emit_at_once(EVENTS, "api_key.changed", id, &record.to_event());
    w.api_key_changed(record.key_id);
    Ok(())
}

/// Keeps `record` unless a copy of the same or a higher version is kept already.
async fn store(tx: &mut Tx, r: &KeyRecord) -> Result<()> {
    let roles: Vec<&str> = r.roles.iter().map(|x| x.as_str()).collect();
    let (previous_hash, previous_time, previous_until) = Previous::columns(r.previous.as_ref());
    sqlx::query(
        "INSERT INTO api_keys (key_id, tenant_id, subject, roles, scopes, secret_hash, \
         secret_time, previous_hash, previous_time, previous_until, expire_time, revoke_time, \
         version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (key_id) DO UPDATE SET tenant_id = excluded.tenant_id, \
         subject = excluded.subject, roles = excluded.roles, scopes = excluded.scopes, \
         secret_hash = excluded.secret_hash, secret_time = excluded.secret_time, \
         previous_hash = excluded.previous_hash, previous_time = excluded.previous_time, \
         previous_until = excluded.previous_until, expire_time = excluded.expire_time, \
         revoke_time = excluded.revoke_time, version = excluded.version \
         WHERE api_keys.version < excluded.version",
    )
    .bind(r.key_id.hyphenated().to_string())
    .bind(&r.tenant)
    .bind(&r.subject)
    .bind(roles.join(" "))
    .bind(r.scopes.join(" "))
    .bind(secret::to_hex(&r.secret))
    .bind(r.secret_time)
    .bind(previous_hash)
    .bind(previous_time)
    .bind(previous_until)
    .bind(r.expire_time)
    .bind(r.revoke_time.unwrap_or(0))
    .bind(r.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> KeyRecord {
        KeyRecord {
            key_id: Uuid::now_v7(),
            tenant: "t1".into(),
            subject: "partners/p".into(),
            roles: vec![Role::Partner],
            scopes: vec!["*".into()],
            secret: secret::hash("new"),
            secret_time: 2_000,
            previous: Some(Previous {
                hash: secret::hash("old"),
                time: 1_000,
                until: 5_000,
            }),
            expire_time: 9_000,
            revoke_time: None,
            version: 3,
        }
    }

    #[test]
    fn both_secrets_work_during_the_overlap_and_only_the_new_after() {
        let r = record();
        assert_eq!(r.issue_time_of(&secret::hash("new"), 4_999), Some(2_000));
        assert_eq!(r.issue_time_of(&secret::hash("old"), 4_999), Some(1_000));
        assert_eq!(r.issue_time_of(&secret::hash("old"), 5_000), None);
        assert_eq!(r.issue_time_of(&secret::hash("new"), 5_000), Some(2_000));
        assert_eq!(r.issue_time_of(&secret::hash("other"), 0), None);
    }

    #[test]
    fn a_record_travels_whole_in_its_event() {
        let mut r = record();
        assert_eq!(KeyRecord::from_event("t1", &r.to_event()), Some(r.clone()));
        r.previous = None;
        r.revoke_time = Some(7_000);
        assert_eq!(KeyRecord::from_event("t1", &r.to_event()), Some(r.clone()));
        let mut broken = r.to_event();
        broken.roles.push("root".into());
        assert_eq!(KeyRecord::from_event("t1", &broken), None);
        let mut broken = r.to_event();
        broken.secret_sha256.pop();
        assert_eq!(KeyRecord::from_event("t1", &broken), None);
    }
}
