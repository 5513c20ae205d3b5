//! The service's state, shared by every call.

use rapport_kit::service::State;
use rapport_runtime::{Result, context::ServiceContext};

use super::events::EVENTS;
use crate::domain::settings::Settings;

/// The service's state, shared by every call of its gRPC services: the kit's state (time,
/// database, writes) with the service's settings.
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
