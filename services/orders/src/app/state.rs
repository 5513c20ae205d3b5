//! The service's state, shared by every call: its context, the tenant's settings through the
//! cache, and who sees which orders.

use rapport_kit::visibility::Scope;
use rapport_runtime::{
    Result,
    auth::{Principal, Role},
    clock::Micros,
    context::ServiceContext,
    storage::Db,
    write::Write,
};

use super::events::EVENTS;
use crate::domain::settings::Settings;

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

    /// The tenant's order settings.
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }
}

/// The orders `p` sees: reps and managers their team's and their own; admins, service
/// accounts, marketers and service agents the tenant's.
pub fn scope(p: &Principal) -> Scope {
    if p.roles.iter().any(|r| {
        matches!(
            r,
            Role::Admin | Role::ServiceAccount | Role::Marketer | Role::ServiceAgent
        )
    }) {
        Scope::All
    } else {
        Scope::Team {
            subject: p.subject.clone(),
            team: p.team_id.clone(),
        }
    }
}
