//! The peer services as tickets asks them, always on the caller's behalf so each applies its
//! own visibility: a customer (and its grade), an order and its lines, and creating a return.

use rapport_kit::{
    names,
    peer::{self, Refusal},
};
use rapport_proto::{
    customers as cpb,
    orders::{
        self as opb, order_service_client::OrderServiceClient,
        return_service_client::ReturnServiceClient,
    },
};
use rapport_runtime::{Error, Result, peers::Peers};
use tonic::{Code, Request};
use uuid::Uuid;

use crate::app::App;

/// The customer `id`, read on the caller's behalf; INVALID_ARGUMENT on `field` when it does
/// not exist, is hidden from the caller, deleted or merged.
pub(super) async fn live_customer<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    peer::live_customer(&app.ctx.peers, req, id, field).await
}

/// Whether the caller of `req` may see the customer `id` (a rep reading its tickets).
pub(super) async fn sees_customer<T>(app: &App, req: &Request<T>, id: Uuid) -> Result<bool> {
    match live_customer(app, req, id, "customer").await {
        Ok(_) => Ok(true),
        Err(Error::InvalidArgument(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The order `id` of `customer`, read on the caller's behalf; INVALID_ARGUMENT on `field` when
/// it does not exist, is hidden, or is another customer's.
pub(super) async fn order_of<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    customer: Uuid,
    field: &str,
) -> Result<opb::Order> {
    let name = names::format_id("orders", id);
    let mut client = OrderServiceClient::new(app.ctx.peers.channel("orders")?);
    let call = Peers::request(req, opb::GetOrderRequest { name: name.clone() });
    let o = client
        .get_order(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| peer::as_field("orders", &s, &name, field))?;
    if o.customer != names::format_id("customers", customer) {
        return Err(Error::invalid(
            field,
            format!("{name} is not an order of the ticket's customer"),
        ));
    }
    Ok(o)
}

/// Asks the orders service for the return of a ticket, on the caller's behalf. The request id
/// is the ticket's, and the orders service answers a second request naming the same ticket
/// with the first return, so retries (by anyone) never make two.
pub(super) async fn request_return<T>(
    app: &App,
    req: &Request<T>,
    order: &str,
    r: opb::Return,
    request_id: String,
) -> Result<opb::Return> {
    let mut client = ReturnServiceClient::new(app.ctx.peers.channel("orders")?);
    let call = Peers::request(
        req,
        opb::RequestReturnRequest {
            parent: order.to_owned(),
            r#return: Some(r),
            request_id,
        },
    );
    client
        .request_return(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| {
            let refusal = Refusal::read("orders", &s);
            match refusal.code {
                Code::InvalidArgument | Code::FailedPrecondition | Code::NotFound => {
                    Error::precondition(
                        "RETURN_REFUSED",
                        format!("the orders service refused the return: {}", refusal.message),
                    )
                }
                _ => refusal.into_error(
                    "the return could not be created",
                    "the ticket is unchanged; retry the approval",
                ),
            }
        })
}
