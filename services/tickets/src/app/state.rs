//! The service's state, shared by every call: its context, the tenant's settings through the
//! cache, and who sees which tickets.

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

    /// The tenant's ticket settings.
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }
}

/// Which tickets a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sees {
    /// Admins and service accounts: the tenant's.
    All,
    /// A supervisor (a manager): its team's.
    Team(String),
    /// A service agent: its queues' and those assigned to it.
    Agent(String),
    /// A rep: those of customers the customers service lets it see, read-only.
    ItsCustomers,
}

/// Which tickets `p` sees; the widest of its roles.
pub fn sees(p: &Principal) -> Sees {
    if p.has_any(&[Role::Admin, Role::ServiceAccount]) {
        Sees::All
    } else if p.has_role(Role::Manager) {
        Sees::Team(p.team_id.clone().unwrap_or_default())
    } else if p.has_role(Role::ServiceAgent) {
        Sees::Agent(p.subject.clone())
    } else {
        Sees::ItsCustomers
    }
}
