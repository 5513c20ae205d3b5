//! The service's state, shared by every call: its context, the tenant's settings through the
//! cache, and who sees which orders.

use rapport_kit::service::State;
use rapport_kit::visibility::Scope;
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
