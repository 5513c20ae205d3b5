//! The peer services as orders ask them, always on the caller's behalf so each applies its
//! own visibility: whether a customer exists and the caller may see it, and what a customer
//! or a lead needs.

use rapport_kit::{names, peer};
use rapport_proto::{
    customers as cpb,
    leads::{self as lpb, lead_service_client::LeadServiceClient},
};
use rapport_runtime::{Result, peers::Peers};
use tonic::Request;
use uuid::Uuid;

use crate::app::App;

/// INVALID_ARGUMENT on `field` unless the customer exists, is live and is visible to the
/// caller of `req`; UNAVAILABLE when the customers service does not answer (nothing was
/// written: the caller may retry).
pub(super) async fn check_visible<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<()> {
    peer::live_customer(&app.ctx.peers, req, id, field)
        .await
        .map(drop)
}

/// The customer `id`, read on the caller's behalf.
pub(super) async fn customer<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    peer::customer(&app.ctx.peers, req, id, field).await
}

/// The lead `id`, read from the leads service on the caller's behalf.
pub(super) async fn lead<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<lpb::Lead> {
    let name = names::format_id("leads", id);
    let mut client = LeadServiceClient::new(app.ctx.peers.channel("leads")?);
    let call = Peers::request(req, lpb::GetLeadRequest { name: name.clone() });
    client
        .get_lead(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| peer::as_field("leads", &s, &name, field))
}
