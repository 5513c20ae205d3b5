//! The service's state, shared by every call: its context, the tenant's settings through the
//! cache, and who sees which tickets.

use rapport_kit::service::State;
use rapport_runtime::{
    Result,
    auth::{Principal, Role},
    context::ServiceContext,
};

use super::events::EVENTS;
use crate::domain::settings::Settings;

/// The service's state, shared by every call of its gRPC services: the kit's state (time,
/// database, writes) with the service's events and settings.
#[derive(Clone)]
pub struct App(State);

impl App {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        Self(State::new(ctx, EVENTS))
    }

    /// The tenant's settings.
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }
}

impl std::ops::Deref for App {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
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
    TheirCustomers,
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
        Sees::TheirCustomers
    }
}
