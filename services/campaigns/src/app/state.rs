//! The service's state, shared by every call.

use std::sync::Arc;

use rapport_kit::{channels::Channels, service::State};
use rapport_runtime::{Result, context::ServiceContext};

use super::events::EVENTS;
use crate::domain::settings::Settings;

/// The service's state, shared by every call of its gRPC services: the kit's state (time,
/// database, writes) with the service's settings and the message channels it sends on.
#[derive(Clone)]
pub struct App {
    state: State,
    /// Email and SMS, as the operator configured them.
    pub channels: Arc<Channels>,
}

impl App {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        let channels = Arc::new(Channels::from_context(&ctx));
        Self {
            state: State::new(ctx, EVENTS),
            channels,
        }
    }

    /// The tenant's settings.
    pub async fn settings(&self, tenant: &str) -> Result<Settings> {
        rapport_kit::settings::cached(&self.ctx, EVENTS, tenant).await
    }
}

impl std::ops::Deref for App {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}
