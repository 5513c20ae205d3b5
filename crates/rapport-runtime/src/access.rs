//! The revocation list: tokens that stop working before they expire.
//!
//! A token lives up to a day, and a rep who leaves must lose access on its next call, not the
//! next day. Each service keeps the tenant's revocation list in its own database (the runtime
//! table `revocations`): for a subject, the time before which its tokens were issued are refused,
//! or "all of them" while it is disabled. The runtime's authentication checks it on every request
//! ([`Revocations::check`]), through a cache held for [`CHECK_TTL`].
//!
//! A revocation is written by the service that takes it ([`revoke`]) in the transaction of the
//! change that causes it (a rep deactivated, an admin revoking a leaked token), and travels to
//! every other service and replica as the event `rapport.access.v1.access.revoked` on the stream
//! `access`, which every service consumes ([`RevocationHandler`]). The revoking write publishes
//! the event at once, besides through its outbox, so it reaches the others within moments;
//! where the bus is down meanwhile, the outbox delivers it when the bus is back.

use std::{sync::Arc, time::Duration};

use prost::Message;
use rapport_proto::{access as pb, event::Event};

use crate::{
    Error, Result,
    clock::{Micros, SharedClock, from_timestamp, to_timestamp},
    events::{EventHandler, apply_once},
    storage::{Db, Tx},
    write::{EventSource, Write},
};

/// The stream revocations travel on, and their proto package.
pub const EVENTS: EventSource = EventSource { stream: "access" };

/// How long an answer of the revocation list is kept in a process: the longest a revocation
/// made elsewhere may go unseen here if its event were lost on the way (the event itself drops
/// the entry when it arrives).
pub const CHECK_TTL: Duration = Duration::from_secs(1);

/// Subjects whose answers a process keeps at most.
const CHECK_ENTRIES: u64 = 100_000;

/// `not_before` of a disabled subject: no token was issued after it.
const DISABLED: Micros = i64::MAX;

/// What a revocation cuts off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Every token issued until now; tokens issued later work (a user signed out everywhere, a
    /// rep reactivated).
    TokensSoFar,
    /// Every token, until a later [`Revocation::TokensSoFar`] (a rep deactivated).
    Disabled,
}

/// Revokes `subject`'s tokens in the write's tenant as `what` says, in the write's transaction:
/// refused in this process from the commit on, and published to every other service at once.
/// Returns the revocation's `not_before`: tokens issued before it are refused.
pub async fn revoke(
    w: &mut Write,
    subject: &str,
    what: Revocation,
    reason: &str,
) -> Result<Micros> {
    let now = w.now();
    let not_before = match what {
        // Whole seconds, as tokens tell their issue time: a token issued in the second of the
        // revocation is refused too.
        Revocation::TokensSoFar => next_second(now),
        Revocation::Disabled => DISABLED,
    };
    let tenant = w.tenant().to_owned();
    store(w.tx(), &tenant, subject, not_before, reason, now).await?;
    let event = pb::AccessRevoked {
        subject: subject.to_owned(),
        not_before: (what == Revocation::TokensSoFar).then(|| to_timestamp(not_before)),
        disabled: what == Revocation::Disabled,
        reason: reason.to_owned(),
    };
    w.emit_at_once(EVENTS, "access.revoked", subject.to_owned(), &event);
    w.revoked(subject);
    Ok(not_before)
}

/// The first whole second after `t`.
fn next_second(t: Micros) -> Micros {
    t.div_euclid(1_000_000)
        .saturating_add(1)
        .saturating_mul(1_000_000)
}

/// Keeps the latest revocation of `subject`: one older than what is stored changes nothing.
async fn store(
    tx: &mut Tx,
    tenant: &str,
    subject: &str,
    not_before: Micros,
    reason: &str,
    at: Micros,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO revocations (tenant_id, subject, not_before, reason, update_time) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, subject) DO UPDATE SET not_before = excluded.not_before, \
         reason = excluded.reason, update_time = excluded.update_time \
         WHERE revocations.update_time <= excluded.update_time",
    )
    .bind(tenant)
    .bind(subject)
    .bind(not_before)
    .bind(reason)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A service's view of the revocation list, for authentication; cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    db: Db,
    /// (tenant, subject) → not_before; 0 when nothing is revoked.
    answers: moka::future::Cache<(String, String), Micros>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("checked", &self.inner.is_some())
            .finish()
    }
}

impl Revocations {
    /// The revocation list kept in `db`.
    pub fn new(db: Db) -> Self {
        let answers = moka::future::Cache::builder()
            .max_capacity(CHECK_ENTRIES)
            .time_to_live(CHECK_TTL)
            .build();
        Self {
            inner: Some(Arc::new(Inner { db, answers })),
        }
    }

    /// No list: nothing is ever revoked (a context with no server in front of it).
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// UNAUTHENTICATED if the token of `subject` in `tenant`, issued at `issued_at` (seconds
    /// since the epoch), was revoked.
    pub async fn check(&self, tenant: &str, subject: &str, issued_at: u64) -> Result<()> {
        let Some(inner) = &self.inner else {
            return Ok(());
        };
        let key = (tenant.to_owned(), subject.to_owned());
        let not_before = inner
            .answers
            .try_get_with(key, async {
                let row: Option<(Micros,)> = sqlx::query_as(
                    "SELECT not_before FROM revocations WHERE tenant_id = $1 AND subject = $2",
                )
                .bind(tenant)
                .bind(subject)
                .fetch_optional(inner.db.pool())
                .await?;
                Ok::<_, Error>(row.map_or(0, |(t,)| t))
            })
            .await
            .map_err(|e| match e.as_ref() {
                Error::Unavailable { message, .. } => Error::unavailable(message.clone()),
                _ => Error::unavailable("the revocation list cannot be read"),
            })?;
        let issued = i64::try_from(issued_at)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        if issued < not_before {
            return Err(Error::Unauthenticated(
                "this token was revoked; sign in again".into(),
            ));
        }
        Ok(())
    }

    /// Drops the kept answer for `subject` of `tenant`, so the next request reads the list.
    pub async fn forget(&self, tenant: &str, subject: &str) {
        if let Some(inner) = &self.inner {
            inner
                .answers
                .invalidate(&(tenant.to_owned(), subject.to_owned()))
                .await;
        }
    }
}

/// Applies revocations other services (or replicas) took to this service's list.
pub struct RevocationHandler {
    group: String,
    db: Db,
    clock: SharedClock,
    revocations: Revocations,
}

impl RevocationHandler {
    /// The handler of service `service`, keeping its list in `db`.
    pub fn new(service: &str, db: Db, clock: SharedClock, revocations: Revocations) -> Self {
        Self {
            group: format!("{service}.access"),
            db,
            clock,
            revocations,
        }
    }
}

#[tonic::async_trait]
impl EventHandler for RevocationHandler {
    fn group(&self) -> &str {
        &self.group
    }

    fn stream(&self) -> &str {
        EVENTS.stream
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(data) = &event.data else {
            return Ok(());
        };
        if data.type_url != crate::events::type_url("rapport.access.v1.AccessRevoked") {
            return Ok(());
        }
        let revoked = pb::AccessRevoked::decode(data.value.as_slice()).map_err(Error::internal)?;
        let not_before = if revoked.disabled {
            DISABLED
        } else {
            revoked
                .not_before
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or(0)
        };
        let at = event.time.as_ref().and_then(from_timestamp).unwrap_or(0);
        let (tenant, subject, reason) = (
            event.tenant.clone(),
            revoked.subject.clone(),
            revoked.reason.clone(),
        );
        apply_once(&self.db, &self.group, &event.id, self.clock.now(), |tx| {
            Box::pin(async move { store(tx, &tenant, &subject, not_before, &reason, at).await })
        })
        .await?;
        self.revocations
            .forget(&event.tenant, &revoked.subject)
            .await;
        Ok(())
    }
}

/// `rapport.access.v1.AccessService`, served by every process in front of its first service.
#[derive(Debug, Clone)]
pub struct AccessApi {
    ctx: crate::context::ServiceContext,
}

impl AccessApi {
    /// The service, writing revocations through `ctx`.
    pub fn new(ctx: crate::context::ServiceContext) -> Self {
        Self { ctx }
    }

    /// The gRPC service name, for health.
    pub const NAME: &'static str = "rapport.access.v1.AccessService";
}

/// Longest subject a token may name (see `auth`), and the longest reason kept.
const MAX_SUBJECT: usize = 128;
const MAX_REASON: usize = 500;

#[tonic::async_trait]
impl pb::access_service_server::AccessService for AccessApi {
    async fn revoke_tokens(
        &self,
        request: tonic::Request<pb::RevokeTokensRequest>,
    ) -> std::result::Result<tonic::Response<pb::RevokeTokensResponse>, tonic::Status> {
        let p = crate::auth::authorize(&request, &[crate::auth::Role::Admin])?;
        let msg = request.into_inner();
        let mut v = crate::validation::Violations::new();
        let subject = msg.subject.trim();
        if subject.is_empty() || subject.chars().count() > MAX_SUBJECT {
            v.add("subject", format!("must be 1..{MAX_SUBJECT} characters"));
        }
        if msg.reason.chars().count() > MAX_REASON {
            v.add("reason", format!("must be at most {MAX_REASON} characters"));
        }
        v.finish(()).map_err(Error::from)?;
        let mut w = self.ctx.write(&p, EVENTS).await?;
        let not_before =
            revoke(&mut w, subject, Revocation::TokensSoFar, msg.reason.trim()).await?;
        let answer = pb::RevokeTokensResponse {
            not_before: Some(to_timestamp(not_before)),
        };
        Ok(tonic::Response::new(w.commit(answer).await?))
    }
}
