//! The customers service as orders ask it: whether a customer exists and the caller may see
//! it, asked on the caller's behalf so the customers service applies its own visibility.

use rapport_kit::{
    names,
    peer::{Refusal, Refused},
};
use rapport_proto::customers::{self as cpb, customer_service_client::CustomerServiceClient};
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
    let name = names::format_id("customers", id);
    let mut client = CustomerServiceClient::new(app.ctx.peers.channel("customers")?);
    let call = Peers::request(req, cpb::GetCustomerRequest { name: name.clone() });
    let status = match client.get_customer(call).await {
        Ok(found) => {
            let c = found.into_inner();
            if c.delete_time.is_some() || !c.merged_into.is_empty() {
                return Err(Error::invalid(
                    field,
                    format!("{name} is deleted or merged; order for the surviving customer"),
                ));
            }
            return Ok(());
        }
        Err(s) => s,
    };
    let refusal = Refusal::read("customers", &status);
    match (refusal.code, &refusal.refused) {
        (Code::NotFound, _) => Err(Error::invalid(
            field,
            format!("{name} does not exist or you may not see it"),
        )),
        (_, Refused::Invalid(_)) => Err(Error::invalid(field, refusal.message)),
        _ => Err(refusal.into_error(
            "the customer could not be checked",
            "nothing was written, retry with the same request_id",
        )),
    }
}
