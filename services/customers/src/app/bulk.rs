//! Bulk work on customers: atomic batch updates and streaming export.

use rapport_kit::query::OrderBy;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    customers::{ListParams, list_query},
    events,
    ownership::{holder, record_transfer},
    state::{App, begin, invalidate, require_live, save},
};
use crate::{
    convert::customer::customer_to_proto,
    domain::{change::Change, names, profile::Customer, settings::Settings, transfer},
    store::{self, CustomerQuery},
};

/// Most customers one BatchUpdateCustomers call changes.
pub const MAX_BATCH: usize = 10_000;
/// Customers per page of an export.
const EXPORT_BATCH: u32 = 500;

/// The customers a batch update changes.
pub enum Targets {
    /// These, each named once.
    Named(Vec<Uuid>),
    /// Those a filter matches, at most [`MAX_BATCH`].
    Matching(CustomerQuery),
}

/// The query of a batch update's filter, oldest first.
pub fn batch_query(app: &App, p: &Principal, filter: &str) -> Result<CustomerQuery> {
    let params = ListParams {
        filter,
        order_by: "create_time",
        page_size: 0,
        page_token: "",
        show_deleted: false,
    };
    Ok(list_query(app, p, &params)?.0)
}

/// Applies `change` to every target in one transaction: all change or none.
pub async fn batch_update(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    targets: Targets,
    change: &Change,
    settings: &Settings,
) -> Result<pb::BatchUpdateCustomersResponse> {
    let mut w = begin!(app, p, idem);
    let ids = match targets {
        Targets::Named(ids) => ids,
        Targets::Matching(mut q) => {
            q.order = OrderBy::asc("create_time");
            q.limit = MAX_BATCH as u32 + 1;
            let ids: Vec<Uuid> = store::list_customers(w.tx(), &p.tenant_id, &q)
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
            ids
        }
    };
    // Lock in id order so concurrent batches cannot deadlock.
    let mut order = ids.clone();
    order.sort();
    let now = app.now();
    let mut changed = Vec::with_capacity(order.len());
    for id in order {
        let current = app.lock_visible(w.tx(), &p, id).await?;
        require_live(&current)?;
        let mut profile = current.profile.clone();
        change.apply(&mut profile, settings).map_err(|m| {
            Error::precondition(
                "CHANGE_NOT_APPLICABLE",
                format!("{}: {m}", current.resource_name()),
            )
        })?;
        let updated = Customer {
            profile,
            ..current.next_version(now)
        };
        save(w.tx(), &p.tenant_id, &updated, current.version).await?;
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
        events::updated(&mut w, customer_to_proto(&updated), change.changed_fields());
        changed.push(id);
    }
    let names = ids.iter().map(|id| names::customer_name(*id)).collect();
    invalidate(&mut w, &p.tenant_id, &changed);
    w.commit(pb::BatchUpdateCustomersResponse { names }).await
}

/// The live customers `filter` matches, oldest first, a page at a time as the receiver takes
/// them; a failed read is the last item.
pub fn export(
    app: &App,
    p: Principal,
    filter: &str,
) -> Result<mpsc::Receiver<Result<Vec<Customer>>>> {
    let params = ListParams {
        filter,
        order_by: "create_time",
        page_size: EXPORT_BATCH as i32,
        page_token: "",
        show_deleted: false,
    };
    let (mut query, _) = list_query(app, &p, &params)?;
    query.limit = EXPORT_BATCH;
    let (tx, rx) = mpsc::channel(4);
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            let page = async {
                let mut conn = app.db().pool().acquire().await?;
                store::list_customers(&mut conn, &p.tenant_id, &query).await
            }
            .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let last = rows.len() < EXPORT_BATCH as usize;
            if let Some(c) = rows.last() {
                query.after = store::cursor_of(c, &query.order);
            }
            if (!rows.is_empty() && tx.send(Ok(rows)).await.is_err()) || last {
                return;
            }
        }
    });
    Ok(rx)
}
