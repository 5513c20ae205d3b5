//! The customers half of a departing rep's hand-over (S1): every customer the rep owns in the
//! customers service goes to the named reps in turn, or to the caller. Each transfer carries a
//! request id derived from the hand-over's, so a retried hand-over repeats nothing; customers
//! already moved no longer match the owner filter.

use rapport_proto::customers as cpb;
use rapport_runtime::{Error, Result, peers::Peers};
use tonic::{Request, Status};

use super::support::LeadsApi;

/// Customers listed per page while handing over.
const PAGE: i32 = 500;

/// Moves the customers `rep` owns to `to` in turn (the caller `fallback` when `to` is empty);
/// returns how many moved.
pub(super) async fn hand_over_customers<T>(
    api: &LeadsApi,
    req: &Request<T>,
    rep: &str,
    to: &[String],
    fallback: &str,
    request_id: &str,
) -> Result<i32> {
    let channel = api.ctx.peers.channel("customers")?;
    let mut client = cpb::customer_service_client::CustomerServiceClient::new(channel);
    let filter = format!(
        "owner_id = \"{}\"",
        rep.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let mut moved = 0;
    loop {
        // Always the first page: transferred customers drop out of the filter.
        let page = client
            .list_customers(Peers::request(
                req,
                cpb::ListCustomersRequest {
                    page_size: PAGE,
                    filter: filter.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map_err(unavailable)?
            .into_inner();
        if page.customers.is_empty() {
            return Ok(moved);
        }
        for c in page.customers {
            let target = if to.is_empty() {
                fallback
            } else {
                &to[moved as usize % to.len()]
            };
            let key = c.name.rsplit('/').next().unwrap_or_default();
            client
                .transfer_customer_ownership(Peers::request(
                    req,
                    cpb::TransferCustomerOwnershipRequest {
                        name: c.name.clone(),
                        new_owner_id: target.to_owned(),
                        reason: format!("reps/{rep} left; handed over"),
                        request_id: format!("handover:{request_id}:{key}"),
                        ..Default::default()
                    },
                ))
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
    }
}

fn unavailable(s: Status) -> Error {
    match s.code() {
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
            Error::PermissionDenied(format!("the customers service refused: {}", s.message()))
        }
        _ => Error::Unavailable(format!(
            "handing over customers failed ({}: {}); no lead moved, retry with the same request_id",
            s.code(),
            s.message()
        )),
    }
}
