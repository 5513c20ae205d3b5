//! Authenticating a request by its API key, against this service's copy of the keys.

use std::{sync::Arc, time::Duration};

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;

use super::{KeyRecord, Previous, scope, secret};
use crate::{
    Error, Result,
    access::{EVENTS, Revocations},
    auth::{Principal, Role},
    clock::{Micros, SharedClock, to_timestamp},
    events::{NewEvent, append},
    storage::Db,
};

/// How long a key read from the database is kept in a process: the longest a change made
/// elsewhere (a revocation) may go unseen here if its event were lost on the way (the event
/// itself drops the kept key when it arrives).
pub const CHECK_TTL: Duration = Duration::from_secs(1);

/// A process reports the use of a key at most this often.
pub const USE_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Keys a process keeps at most.
const CHECK_ENTRIES: u64 = 100_000;

/// The one answer to a secret that is not a key's: which part was wrong is not told.
fn invalid() -> Error {
    Error::Unauthenticated("the API key is not valid".into())
}

/// A service's view of the API keys, for authentication; cheap to clone.
#[derive(Clone)]
pub struct ApiKeys {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    /// key id → the key, or `None` when there is no such key.
    answers: moka::future::Cache<Uuid, Option<Arc<KeyRecord>>>,
    /// Keys whose use this process reported within the interval.
    reported: moka::future::Cache<Uuid, ()>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("checked", &self.inner.is_some())
            .finish()
    }
}

impl ApiKeys {
    /// The keys kept in `db`, checked against `clock`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        let answers = moka::future::Cache::builder()
            .max_capacity(CHECK_ENTRIES)
            .time_to_live(CHECK_TTL)
            .build();
        let reported = moka::future::Cache::builder()
            .max_capacity(CHECK_ENTRIES)
            .time_to_live(USE_REPORT_INTERVAL)
            .build();
        Self {
            inner: Some(Arc::new(Inner {
                db,
                clock,
                answers,
                reported,
            })),
        }
    }

    /// No keys: every API key is refused (a context with no server in front of it).
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// The caller that secret `text` authenticates for the method of request path `path`:
    /// UNAUTHENTICATED for a secret that is no key's, or a key expired, revoked, or whose
    /// subject's tokens were revoked after the secret was issued; PERMISSION_DENIED when the
    /// key's scopes do not name the method.
    pub async fn authenticate(
        &self,
        text: &str,
        path: &str,
        revocations: &Revocations,
    ) -> Result<Principal> {
        let (Some(inner), Some(id)) = (&self.inner, secret::key_id(text)) else {
            return Err(invalid());
        };
        let key = inner.read(id).await?.ok_or_else(invalid)?;
        let now = inner.clock.now();
        let issued = key
            .issue_time_of(&secret::hash(text), now)
            .ok_or_else(invalid)?;
        if key.revoke_time.is_some() {
            return Err(Error::Unauthenticated("this API key was revoked".into()));
        }
        if now >= key.expire_time {
            return Err(Error::Unauthenticated("this API key expired".into()));
        }
        revocations
            .check(
                &key.tenant,
                &key.subject,
                u64::try_from(issued.div_euclid(1_000_000)).unwrap_or(0),
            )
            .await?;
        if !scope::allows(&key.scopes, path) {
            return Err(Error::PermissionDenied(format!(
                "this API key may not call {}; its scopes do not name it",
                crate::error::cap(path.trim_start_matches('/'), 200)
            )));
        }
        inner.report_use(&key, now).await;
        Ok(Principal {
            tenant_id: key.tenant.clone(),
            subject: key.subject.clone(),
            roles: key.roles.clone(),
            team_id: None,
        })
    }

    /// Drops the kept answer for key `id`, so the next request reads the database.
    pub async fn forget(&self, id: Uuid) {
        if let Some(inner) = &self.inner {
            inner.answers.invalidate(&id).await;
        }
    }
}

impl Inner {
    /// Key `id`, through the kept answers.
    async fn read(&self, id: Uuid) -> Result<Option<Arc<KeyRecord>>> {
        self.answers
            .try_get_with(id, async {
                load(&self.db, id).await.map(|k| k.map(Arc::new))
            })
            .await
            .map_err(|e| match e.as_ref() {
                Error::Unavailable { message, .. } => Error::unavailable(message.clone()),
                _ => Error::unavailable("the API keys cannot be read"),
            })
    }

    /// Reports that `key` was used at `now`, unless this process did within the interval. The
    /// event is written in a task of its own, so the request never waits for it.
    async fn report_use(&self, key: &KeyRecord, now: Micros) {
        let entry = self.reported.entry(key.key_id).or_insert(()).await;
        if !entry.is_fresh() {
            return;
        }
        let (db, tenant, subject, id) = (
            self.db.clone(),
            key.tenant.clone(),
            key.subject.clone(),
            key.key_id,
        );
        tokio::spawn(async move {
            if let Err(e) = write_use(&db, &tenant, &subject, id, now).await {
                // The next use after the interval reports again.
                tracing::warn!(error = %e, "recording the use of an API key failed");
            }
        });
    }
}

/// Appends `api_key.used` of key `id` to the outbox of `db`.
async fn write_use(db: &Db, tenant: &str, actor: &str, id: Uuid, at: Micros) -> Result<()> {
    use prost::{Message, Name};
    let used = rapport_proto::access::ApiKeyUsed {
        key_id: id.hyphenated().to_string(),
        use_time: Some(to_timestamp(at)),
    };
    let event_type = format!(
        "{}.api_key.used",
        rapport_proto::access::ApiKeyUsed::PACKAGE
    );
    let payload_type = rapport_proto::access::ApiKeyUsed::full_name();
    let mut tx = db.begin().await?;
    append(
        &mut tx,
        NewEvent {
            stream: EVENTS.stream,
            event_type: &event_type,
            subject: id.hyphenated().to_string(),
            tenant,
            actor,
            payload_type: &payload_type,
            payload: used.encode_to_vec(),
            traceparent: None,
        },
        at,
    )
    .await?;
    tx.commit().await
}

/// Key `id` as this service's copy has it; `None` when there is none or it is unreadable.
async fn load(db: &Db, id: Uuid) -> Result<Option<KeyRecord>> {
    let row = sqlx::query(
        "SELECT tenant_id, subject, roles, scopes, secret_hash, secret_time, previous_hash, \
         previous_time, previous_until, expire_time, revoke_time, version \
         FROM api_keys WHERE key_id = $1",
    )
    .bind(id.hyphenated().to_string())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| from_row(id, &r))
        .transpose()
        .map(Option::flatten)
}

/// The key of a row; `None` when a role or a hash in it cannot be read.
fn from_row(key_id: Uuid, row: &AnyRow) -> Result<Option<KeyRecord>> {
    let words = |column: &str| -> Result<Vec<String>> {
        let text: String = row.try_get(column)?;
        Ok(text.split_whitespace().map(str::to_owned).collect())
    };
    let Some(roles) = words("roles")?
        .iter()
        .map(|x| x.parse::<Role>().ok())
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let Some(secret) = secret::from_hex(&row.try_get::<String, _>("secret_hash")?) else {
        return Ok(None);
    };
    let previous = secret::from_hex(&row.try_get::<String, _>("previous_hash")?)
        .map(|hash| {
            Ok::<_, Error>(Previous {
                hash,
                time: row.try_get("previous_time")?,
                until: row.try_get("previous_until")?,
            })
        })
        .transpose()?;
    let revoke_time: Micros = row.try_get("revoke_time")?;
    Ok(Some(KeyRecord {
        key_id,
        tenant: row.try_get("tenant_id")?,
        subject: row.try_get("subject")?,
        roles,
        scopes: words("scopes")?,
        secret,
        secret_time: row.try_get("secret_time")?,
        previous,
        expire_time: row.try_get("expire_time")?,
        revoke_time: (revoke_time > 0).then_some(revoke_time),
        version: row.try_get("version")?,
    }))
}
