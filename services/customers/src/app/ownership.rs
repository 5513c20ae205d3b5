//! Hand-over of customers between reps, with the full history kept.

use rapport_kit::query::Page;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{
    paging,
    state::{App, begin, check_etag, invalidate, require_live, save},
};
use crate::{
    convert::{activity::ownership_transfer_to_proto, customer::customer_to_proto},
    domain::{
        profile::Customer,
        transfer::{self, OwnershipTransfer, TransferRequest},
    },
    store,
};

/// Hands a customer over as `request` asks, keeping the hand-over in its history.
pub async fn transfer(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    request: &TransferRequest,
    etag: &str,
) -> Result<pb::Customer> {
    let mut w = begin!(app, p, idem);
    let current = app.lock_visible(w.tx(), &p, request.customer_id).await?;
    require_live(&current)?;
    check_etag(etag, &current)?;
    let now = app.now();
    let record = transfer::transfer(request, holder(&current), Uuid::now_v7(), &p.subject, now)
        .map_err(|m| Error::precondition("OWNER_UNCHANGED", m))?;
    let mut profile = current.profile.clone();
    profile.owner_id = record.to_owner_id.clone();
    profile.team_id = record.to_team_id.clone();
    if let Some(store_id) = &request.new_store_id {
        profile.store_id = store_id.clone();
    }
    let updated = Customer {
        profile,
        ..current.next_version(now)
    };
    save(w.tx(), &p.tenant_id, &updated, current.version).await?;
    record_transfer(&mut w, &p.tenant_id, &updated, &record).await?;
    invalidate(&mut w, &p.tenant_id, &[updated.id]);
    w.commit(customer_to_proto(&updated)).await
}

/// Who holds `c` now.
pub fn holder(c: &Customer) -> transfer::Holder<'_> {
    transfer::Holder {
        owner_id: &c.profile.owner_id,
        team_id: &c.profile.team_id,
        store_id: &c.profile.store_id,
    }
}

/// Keeps `record` in the history of `updated` and announces it.
pub async fn record_transfer(
    w: &mut Write,
    tenant: &str,
    updated: &Customer,
    record: &OwnershipTransfer,
) -> Result<()> {
    store::insert_transfer(w.tx(), tenant, record).await?;
    let event = pb::CustomerOwnerChanged {
        customer: updated.resource_name(),
        transfer: Some(ownership_transfer_to_proto(record)),
    };
    w.emit("customer.owner_changed", updated.resource_name(), &event);
    Ok(())
}

/// A page of a customer's ownership history, newest first.
pub async fn list(
    app: &App,
    p: &Principal,
    customer_id: Uuid,
    page: Page,
) -> Result<(Vec<OwnershipTransfer>, String)> {
    paging::page_of(app, p, customer_id, page, store::list_transfers, |t| {
        (t.create_time, t.id)
    })
    .await
}
