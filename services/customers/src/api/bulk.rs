//! Bulk work: atomic batch updates and streaming export (import has its own module).

use rapport_kit::query::OrderBy;
use rapport_proto::customers as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, validation::Violations};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};
use uuid::Uuid;

use super::{
    ServerStream,
    convert::{change::parse_change, customer::customer_to_proto},
    crud::parse_list,
    ownership::{holder, record_transfer},
    support::begin,
    support::{self, CustomersApi, MANAGERS, authorize, require_live},
};
use crate::{
    domain::{change::Change, names, profile::Customer, transfer},
    store,
};

/// Most customers one BatchUpdateCustomers call changes.
const MAX_BATCH: usize = 10_000;
/// Customers per message of the export stream.
const EXPORT_BATCH: u32 = 500;

pub(super) async fn batch_update(
    api: &CustomersApi,
    req: Request<pb::BatchUpdateCustomersRequest>,
) -> Result<pb::BatchUpdateCustomersResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let idem = Idempotency::new(&p, "BatchUpdateCustomers", &msg.request_id, msg)?;
    let settings = api.settings(&p.tenant_id).await?;
    let mut v = Violations::new();
    match (msg.names.is_empty(), msg.filter.trim().is_empty()) {
        (true, true) => v.add("names", "give names or a filter"),
        (false, false) => v.add("filter", "give names or a filter, not both"),
        _ => {}
    }
    if msg.names.len() > MAX_BATCH {
        v.add(
            "names",
            format!(
                "names {} customers; at most {MAX_BATCH} change at once",
                msg.names.len()
            ),
        );
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, name) in msg.names.iter().enumerate() {
        match names::parse_customer_name(name) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(e) => v.add(format!("names[{i}]"), e),
        }
    }
    let change = match &msg.change {
        None => {
            v.add("change", "is required");
            Change::default()
        }
        Some(c) => v.nested("change", |v| parse_change(c, &settings, v)),
    };
    let query = if msg.filter.trim().is_empty() {
        None
    } else {
        match parse_list(api, &p, &msg.filter, "create_time", 0, "", false) {
            Ok((q, _)) => Some(q),
            Err(Error::InvalidArgument(errors)) => {
                errors
                    .into_iter()
                    .for_each(|e| v.add(e.field, e.description));
                None
            }
            Err(e) => return Err(e),
        }
    };
    v.finish(())?;

    let mut w = begin!(api, p, idem);
    if let Some(mut q) = query {
        q.order = OrderBy::asc("create_time");
        q.limit = MAX_BATCH as u32 + 1;
        ids = store::list_customers(w.tx(), &p.tenant_id, &q)
            .await?
            .iter()
            .map(|c| c.id)
            .collect();
        if ids.len() > MAX_BATCH {
            return Err(Error::precondition(
                "TOO_MANY_MATCHES",
                format!("the filter matches more than {MAX_BATCH} customers; narrow it"),
            ));
        }
    }
    // Lock in id order so concurrent batches cannot deadlock.
    let mut order = ids.clone();
    order.sort();
    let now = api.now();
    let mut changed = Vec::with_capacity(order.len());
    for id in order {
        let current = api.lock_visible(w.tx(), &p, id).await?;
        require_live(&current)?;
        let mut profile = current.profile.clone();
        change.apply(&mut profile, &settings).map_err(|m| {
            Error::precondition(
                "CHANGE_NOT_APPLICABLE",
                format!("{}: {m}", current.resource_name()),
            )
        })?;
        let updated = Customer {
            profile,
            update_time: now,
            version: current.version + 1,
            ..current.clone()
        };
        if !store::update_customer(w.tx(), &p.tenant_id, &updated, current.version).await? {
            return Err(Error::stale_etag(&updated.resource_name()));
        }
        // Owner, team and store moves are hand-overs: kept in the history like a transfer.
        let request = transfer::TransferRequest {
            customer_id: id,
            new_owner_id: updated.profile.owner_id.clone(),
            new_team_id: Some(updated.profile.team_id.clone()),
            new_store_id: Some(updated.profile.store_id.clone()),
            reason: "batch update".into(),
        };
        if let Ok(record) =
            transfer::transfer(&request, holder(&current), Uuid::now_v7(), &p.subject, now)
        {
            record_transfer(&mut w, &p.tenant_id, &updated, &record).await?;
        }
        let event = pb::CustomerUpdated {
            customer: Some(customer_to_proto(&updated)),
            changed_fields: change.changed_fields(),
        };
        w.emit("customer.updated", updated.resource_name(), &event);
        changed.push(id);
    }
    let names = ids.iter().map(|id| names::customer_name(*id)).collect();
    support::invalidate(&mut w, &p.tenant_id, &changed);
    w.commit(pb::BatchUpdateCustomersResponse { names }).await
}

pub(super) async fn export(
    api: &CustomersApi,
    req: Request<pb::ExportCustomersRequest>,
) -> Result<ServerStream<pb::ExportCustomersResponse>> {
    let p = authorize(&req, MANAGERS)?;
    let (mut query, _) = parse_list(
        api,
        &p,
        &req.get_ref().filter,
        "create_time",
        EXPORT_BATCH as i32,
        "",
        false,
    )?;
    let (tx, rx) = mpsc::channel::<std::result::Result<pb::ExportCustomersResponse, Status>>(4);
    let api = api.clone();
    tokio::spawn(async move {
        loop {
            let page = async {
                let mut conn = api.db().pool().acquire().await?;
                store::list_customers(&mut conn, &p.tenant_id, &query).await
            }
            .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let last = rows.len() < EXPORT_BATCH as usize;
            if let Some(c) = rows.last() {
                query.after = store::cursor_of(c, &query.order);
            }
            let batch = pb::ExportCustomersResponse {
                customers: rows.iter().map(customer_to_proto).collect(),
            };
            if (!batch.customers.is_empty() && tx.send(Ok(batch)).await.is_err()) || last {
                return;
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}
