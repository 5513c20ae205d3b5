//! The service's state, shared by every call, and who sees which partners.

use rapport_kit::{names, service::State};
use rapport_runtime::{
    Result,
    auth::{Principal, Role},
    context::ServiceContext,
};
use uuid::Uuid;

use super::events::EVENTS;
use crate::domain::{partner::PARTNERS, settings::Settings};

/// The service's state, shared by every call of its gRPC services: the kit's state (time,
/// database, writes) with the service's settings.
#[derive(Clone)]
pub struct App(State);

impl App {
    /// The service over `ctx`.
    pub fn new(ctx: ServiceContext) -> Self {
        Self(State::new(ctx, EVENTS))
    }

    /// Whether any line of `order` was ever credited to a partner.
    pub async fn credited(&self, tenant: &str, order: &str) -> Result<bool> {
        let mut conn = self.db().pool().acquire().await?;
        crate::store::commissions::credited(&mut conn, tenant, order).await
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

/// Whose partner data a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The tenant's staff and services: every partner.
    Staff,
    /// A partner's own credential: that partner's data only.
    Partner(Uuid),
    /// A partner credential that names no partner: nothing.
    Nobody,
}

impl Viewer {
    /// Whether the caller sees partner `id`'s data.
    pub fn sees(self, id: Uuid) -> bool {
        match self {
            Viewer::Staff => true,
            Viewer::Partner(own) => own == id,
            Viewer::Nobody => false,
        }
    }
}

/// Whose data `p` sees. A partner credential's subject is its partner's name,
/// "partners/{partner}"; any staff role sees every partner.
pub fn viewer(p: &Principal) -> Viewer {
    let staff = p.roles.iter().any(|r| *r != Role::Partner);
    if staff {
        Viewer::Staff
    } else {
        names::parse_id(PARTNERS, &p.subject)
            .map(Viewer::Partner)
            .unwrap_or(Viewer::Nobody)
    }
}
