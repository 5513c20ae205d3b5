//! Hand-over of customers between reps, with the full history kept.

use rapport_proto::customers as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, write::Write};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::{
        activity::{
            ownership_transfer_to_proto, parse_list_ownership_transfers, parse_transfer_ownership,
        },
        customer::customer_to_proto,
    },
    paging::list_page,
    support::begin,
    support::{self, CustomersApi, MANAGERS, authorize, check_etag, require_live},
};
use crate::{
    domain::{profile::Customer, transfer},
    store,
};

pub(super) async fn transfer(
    api: &CustomersApi,
    req: Request<pb::TransferCustomerOwnershipRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let request = parse_transfer_ownership(req.get_ref())?;
    let msg = req.get_ref();
    let idem = Idempotency::new(&p, "TransferCustomerOwnership", &msg.request_id, msg)?;
    let mut w = begin!(api, p, idem);
    let current = api.lock_visible(w.tx(), &p, request.customer_id).await?;
    require_live(&current)?;
    check_etag(&msg.etag, &current)?;
    let now = api.now();
    let record = transfer::transfer(&request, holder(&current), Uuid::now_v7(), &p.subject, now)
        .map_err(|m| Error::precondition("OWNER_UNCHANGED", m))?;
    let mut profile = current.profile.clone();
    profile.owner_id = record.to_owner_id.clone();
    profile.team_id = record.to_team_id.clone();
    if let Some(store_id) = &request.new_store_id {
        profile.store_id = store_id.clone();
    }
    let updated = Customer {
        profile,
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    if !store::update_customer(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.resource_name()));
    }
    record_transfer(&mut w, &p.tenant_id, &updated, &record).await?;
    support::invalidate(&mut w, &p.tenant_id, &[updated.id]);
    w.commit(customer_to_proto(&updated)).await
}

/// Who holds `c` now.
pub(super) fn holder(c: &Customer) -> transfer::Holder<'_> {
    transfer::Holder {
        owner_id: &c.profile.owner_id,
        team_id: &c.profile.team_id,
        store_id: &c.profile.store_id,
    }
}

/// Keeps `record` in the history of `updated` and announces it.
pub(super) async fn record_transfer(
    w: &mut Write,
    tenant: &str,
    updated: &Customer,
    record: &transfer::OwnershipTransfer,
) -> Result<()> {
    store::insert_transfer(w.tx(), tenant, record).await?;
    let event = pb::CustomerOwnerChanged {
        customer: updated.resource_name(),
        transfer: Some(ownership_transfer_to_proto(record)),
    };
    w.emit("customer.owner_changed", updated.resource_name(), &event);
    Ok(())
}

pub(super) async fn list(
    api: &CustomersApi,
    req: Request<pb::ListOwnershipTransfersRequest>,
) -> Result<pb::ListOwnershipTransfersResponse> {
    let msg = req.get_ref();
    let parent = (parse_list_ownership_transfers(msg), msg.parent.as_str());
    let (rows, next_page_token) = list_page(
        api,
        &req,
        parent,
        msg.page_size,
        &msg.page_token,
        store::list_transfers,
        |t| (t.create_time, t.id),
    )
    .await?;
    Ok(pb::ListOwnershipTransfersResponse {
        transfers: rows.iter().map(ownership_transfer_to_proto).collect(),
        next_page_token,
    })
}
