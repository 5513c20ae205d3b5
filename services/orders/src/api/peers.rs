//! The peer services as orders ask them, always on the caller's behalf so each applies its
//! own visibility: whether a customer exists and the caller may see it, and what a customer
//! or a lead needs.

use rapport_kit::{
    names,
    peer::{Refusal, Refused},
};
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    leads::{self as lpb, lead_service_client::LeadServiceClient},
};
use rapport_runtime::{Error, Result, peers::Peers};
use tonic::{Code, Request};
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

/// What a peer answered when asked for `name` named in `field`: NOT_FOUND reads as a bad
/// field (it does not exist or the caller may not see it, alike); a peer that does not answer
/// is UNAVAILABLE.
fn peer_refusal(service: &'static str, status: &tonic::Status, name: &str, field: &str) -> Error {
    let refusal = Refusal::read(service, status);
    match (refusal.code, &refusal.refused) {
        (Code::NotFound, _) => Error::invalid(
            field,
            format!("{name} does not exist or you may not see it"),
        ),
        (_, Refused::Invalid(_)) => Error::invalid(field, refusal.message),
        _ => refusal.into_error(
            &format!("{name} could not be read"),
            "nothing was written; retry with the same request_id",
        ),
    }
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
        .map_err(|s| peer_refusal("customers", &s, &name, field))
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
        .map_err(|s| peer_refusal("leads", &s, &name, field))
}
