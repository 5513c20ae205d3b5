//! Ownership: TransferCustomerOwnership and ListOwnershipTransfers.

use rapport_proto::customers as pb;
use rapport_runtime::{Result, storage::Idempotency};
use tonic::Request;

use super::{
    paging,
    support::{MANAGERS, READERS, authorize},
};
use crate::{
    app::{App, ownership},
    convert::activity::{
        ownership_transfer_to_proto, parse_list_ownership_transfers, parse_transfer_ownership,
    },
};

pub(super) async fn transfer(
    app: &App,
    req: Request<pb::TransferCustomerOwnershipRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let request = parse_transfer_ownership(msg)?;
    let idem = Idempotency::new(&p, "TransferCustomerOwnership", &msg.request_id, msg)?;
    ownership::transfer(app, p, idem, &request, &msg.etag).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListOwnershipTransfersRequest>,
) -> Result<pb::ListOwnershipTransfersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let (customer_id, page) = paging::parse(&p, msg, parse_list_ownership_transfers(msg))?;
    let (rows, next_page_token) = ownership::list(app, &p, customer_id, page).await?;
    Ok(pb::ListOwnershipTransfersResponse {
        transfers: rows.iter().map(ownership_transfer_to_proto).collect(),
        next_page_token,
    })
}
