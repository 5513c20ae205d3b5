//! The service's state, shared by every call, sweep and consumer: its context, the tenant's
//! settings through the cache, and reading the leads a caller may see.

use rapport_kit::names;
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    clock::Micros,
    context::ServiceContext,
    storage::{Db, Tx},
    write::Write,
};
use uuid::Uuid;

use super::events::EVENTS;

use crate::domain::{
    lead::{Lead, lead_name},
    visibility::{Scope, sees_lead},
};

/// The service's state, shared by every call of its gRPC services.
#[derive(Clone)]
pub struct App {
    pub(crate) ctx: ServiceContext,
}

impl App {
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

impl App {
    /// The tenant's lead settings.
    pub async fn settings(&self, tenant: &str) -> Result<crate::domain::settings::Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }

    /// A lead the caller may see (also a soft-deleted one); NOT_FOUND otherwise, also for
    /// another tenant's id.
    pub async fn visible_lead(&self, p: &Principal, id: Uuid) -> Result<Lead> {
        let mut conn = self.db().pool().acquire().await?;
        crate::store::leads::get_lead(&mut conn, &p.tenant_id, id)
            .await?
            .filter(|l| sees_lead(&scope(p), &l.owner_id, &l.team_id))
            .ok_or_else(|| Error::not_found(lead_name(id)))
    }

    /// A lead the caller may see, locked in `tx`; NOT_FOUND otherwise.
    pub async fn lock_lead(&self, tx: &mut Tx, p: &Principal, id: Uuid) -> Result<Lead> {
        crate::store::leads::lock_lead(tx, self.db().dialect(), &p.tenant_id, id)
            .await?
            .filter(|l| sees_lead(&scope(p), &l.owner_id, &l.team_id))
            .ok_or_else(|| Error::not_found(lead_name(id)))
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

/// ABORTED unless `given` is empty or the etag of `name` at `version`.
pub fn check_etag(given: &str, name: &str, version: i64) -> Result<()> {
    names::check_etag(given, &names::etag(name, version), name)
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
