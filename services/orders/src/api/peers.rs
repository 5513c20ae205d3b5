//! The peer services as orders ask them, always on the caller's behalf so each applies its
//! own visibility: whether a customer exists and the caller may see it, and what a customer
//! or a lead needs.

use rapport_kit::{names, peer};
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    leads::{self as lpb, lead_service_client::LeadServiceClient},
};
use rapport_runtime::{Error, Result, peers::Peers};
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
    let c = customer(app, req, id, field).await?;
    if c.delete_time.is_some() || !c.merged_into.is_empty() {
        return Err(Error::invalid(
            field,
            format!(
                "{} is deleted or merged; order for the surviving customer",
                c.name
            ),
        ));
    }
    Ok(())
}

/// The customer `id`, read on the caller's behalf.
pub(super) async fn customer<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    let name = names::format_id("customers", id);
    let mut client = CustomerServiceClient::new(app.ctx.peers.channel("customers")?);
    let call = Peers::request(req, cpb::GetCustomerRequest { name: name.clone() });
    client
        .get_customer(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| peer::as_field("customers", &s, &name, field))
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
