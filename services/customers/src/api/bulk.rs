//! Bulk work: BatchUpdateCustomers, ImportCustomers and ExportCustomers.

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, storage::Idempotency, validation::Violations};
use tokio::sync::mpsc;
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Status, Streaming};
use uuid::Uuid;

use super::{
    ServerStream,
    support::{MANAGERS, authorize},
};
use crate::{
    app::{
        App,
        bulk::{self, MAX_BATCH, Targets},
        import::import_batch,
    },
    convert::{change::parse_change, customer::customer_to_proto},
    domain::{change::Change, names},
};

pub(super) async fn batch_update(
    app: &App,
    req: Request<pb::BatchUpdateCustomersRequest>,
) -> Result<pb::BatchUpdateCustomersResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let idem = Idempotency::new(&p, "BatchUpdateCustomers", &msg.request_id, msg)?;
    let settings = app.settings(&p.tenant_id).await?;
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
    let targets = if msg.filter.trim().is_empty() {
        Targets::Named(ids)
    } else {
        match bulk::batch_query(app, &p, &msg.filter) {
            Ok(q) => Targets::Matching(q),
            Err(Error::InvalidArgument(errors)) => {
                errors
                    .into_iter()
                    .for_each(|e| v.add(e.field, e.description));
                Targets::Named(Vec::new())
            }
            Err(e) => return Err(e),
        }
    };
    v.finish(())?;
    bulk::batch_update(app, p, idem, targets, &change, &settings).await
}

pub(super) async fn import(
    app: &App,
    req: Request<Streaming<pb::ImportCustomersRequest>>,
) -> Result<ServerStream<pb::ImportCustomersResponse>> {
    let p = authorize(&req, MANAGERS)?;
    let settings = app.settings(&p.tenant_id).await?;
    let mut inbound = req.into_inner();
    let (tx, rx) = mpsc::channel::<std::result::Result<pb::ImportCustomersResponse, Status>>(4);
    let app = app.clone();
    tokio::spawn(async move {
        let mut next_row: i64 = 0;
        // Whether the stream's previous message met stored holders of its contact data.
        let mut look_first = false;
        loop {
            let msg = match inbound.message().await {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    break;
                }
            };
            let first = next_row;
            next_row += msg.customers.len() as i64;
            let rows = &msg.customers;
            let reply = import_batch(&app, &p, &settings, rows, first, &mut look_first)
                .await
                .map_err(Status::from);
            let failed = reply.is_err();
            if tx
                .send(reply.map(|results| pb::ImportCustomersResponse { results }))
                .await
                .is_err()
                || failed
            {
                break;
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

pub(super) async fn export(
    app: &App,
    req: Request<pb::ExportCustomersRequest>,
) -> Result<ServerStream<pb::ExportCustomersResponse>> {
    let p = authorize(&req, MANAGERS)?;
    let pages = bulk::export(app, p, &req.get_ref().filter)?;
    let replies = ReceiverStream::new(pages).map(|page| {
        page.map(|rows| pb::ExportCustomersResponse {
            customers: rows.iter().map(customer_to_proto).collect(),
        })
        .map_err(Status::from)
    });
    Ok(Box::pin(replies))
}
