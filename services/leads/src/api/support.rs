//! What every handler of the leads service shares: roles, the caller's scope, events,
//! idempotency, etags and the start of a write.

use rapport_kit::names;
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    cache,
    clock::Micros,
    context::ServiceContext,
    storage::{Db, Tx},
    write::{EventSource, Write},
};
use uuid::Uuid;

pub use rapport_runtime::auth::authorize;

use crate::domain::{
    lead::{Lead, lead_name},
    visibility::Scope,
};

/// Where this service's events come from.
pub const EVENTS: EventSource = EventSource { stream: "leads" };

/// Roles that read leads, opportunities and the organization.
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that create and work leads, opportunities and tasks.
pub const WORKERS: &[Role] = &[Role::Admin, Role::Manager, Role::Rep, Role::ServiceAccount];
/// Roles that assign, lock, hand over and change the organization and pipelines.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that change the tenant's lead settings.
pub const ADMINS: &[Role] = &[Role::Admin];
/// Roles that read analytics.
pub const ANALYSTS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];

/// The service's state, shared by every call of its gRPC services.
#[derive(Clone)]
pub struct LeadsApi {
    pub(crate) ctx: ServiceContext,
}

impl LeadsApi {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        Self { ctx }
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Micros {
        self.ctx.clock.now()
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.ctx.db
    }

    /// Starts a write that takes no request id.
    pub async fn write(&self, p: &Principal) -> Result<Write> {
        self.ctx.write(p, EVENTS).await
    }
}

/// The rows `p` may see.
pub fn scope(p: &Principal) -> Scope {
    if p.roles
        .iter()
        .any(|r| matches!(r, Role::Admin | Role::ServiceAccount | Role::Marketer))
    {
        Scope::All
    } else if p.has_role(Role::Manager) {
        Scope::Team {
            subject: p.subject.clone(),
            team: p.team_id.clone(),
        }
    } else {
        Scope::Own {
            subject: p.subject.clone(),
        }
    }
}

/// The id in a `collection/{id}` name given in `field`.
pub fn parse_id(field: &str, collection: &str, name: &str) -> Result<Uuid> {
    names::parse_id(collection, name).map_err(|e| Error::invalid(field, e))
}

/// ABORTED unless `given` is empty or the etag of `name` at `version`.
pub fn check_etag(given: &str, name: &str, version: i64) -> Result<()> {
    if !given.is_empty() && given != names::etag(name, version) {
        return Err(Error::stale_etag(name));
    }
    Ok(())
}

/// Starts a write with an idempotency key, or answers a repeated request with its first answer.
macro_rules! begin {
    ($api:expr, $p:expr, $idem:expr) => {
        rapport_runtime::begin_write!($api.ctx, $p, $idem, $crate::api::support::EVENTS)
    };
}
pub(crate) use begin;

impl LeadsApi {
    /// The tenant's lead settings.
    pub async fn settings(&self, tenant: &str) -> Result<crate::domain::settings::Settings> {
        let load = async {
            let mut conn = self.db().pool().acquire().await?;
            crate::store::settings::get_settings(&mut conn, tenant).await
        };
        self.ctx
            .cache
            .read_through_near(
                &cache::settings_key(EVENTS.stream, tenant),
                cache::SETTINGS_TTL,
                load,
            )
            .await
    }

    /// A lead the caller may see (also a soft-deleted one); NOT_FOUND otherwise, also for
    /// another tenant's id.
    pub async fn visible_lead(&self, p: &Principal, id: Uuid) -> Result<Lead> {
        let mut conn = self.db().pool().acquire().await?;
        crate::store::leads::get_lead(&mut conn, &p.tenant_id, id)
            .await?
            .filter(|l| scope(p).sees_lead(&l.owner_id, &l.team_id))
            .ok_or_else(|| Error::not_found(lead_name(id)))
    }

    /// A lead the caller may see, locked in `tx`; NOT_FOUND otherwise.
    pub async fn lock_lead(&self, tx: &mut Tx, p: &Principal, id: Uuid) -> Result<Lead> {
        crate::store::leads::lock_lead(tx, self.db().dialect(), &p.tenant_id, id)
            .await?
            .filter(|l| scope(p).sees_lead(&l.owner_id, &l.team_id))
            .ok_or_else(|| Error::not_found(lead_name(id)))
    }
}

/// The id of a `leads/{lead}` name given in `field`.
pub fn lead_id(field: &str, name: &str) -> Result<Uuid> {
    parse_id(field, crate::domain::lead::LEADS, name)
}

/// ABORTED unless `given` is empty or `lead`'s etag.
pub fn check_lead_etag(given: &str, lead: &Lead) -> Result<()> {
    check_etag(given, &lead.resource_name(), lead.version)
}

/// FAILED_PRECONDITION when `lead` is soft-deleted.
pub fn require_live(lead: &Lead) -> Result<()> {
    if lead.delete_time.is_some() {
        return Err(Error::precondition(
            "LEAD_DELETED",
            format!("{} is deleted; undelete it first", lead.resource_name()),
        ));
    }
    Ok(())
}

/// At most `max` characters of `s` (request ids passed on to other services stay bounded).
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
