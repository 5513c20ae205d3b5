//! DeliveryService (OR3): deliveries of an order and its follow-up visit.

use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_proto::orders as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::support::{READERS, WORKERS, authorize, parse_id};
use crate::{
    app::{
        App,
        deliveries::{self, Step},
    },
    convert::delivery::{delivery_to_proto, parse_new_delivery, parse_proof, parse_window},
    domain::{delivery::DELIVERIES, order::ORDERS},
};

const PATTERN: &str = "orders/{order}/deliveries/{delivery}";

/// The (order, delivery) ids of a delivery's name given in `field`.
fn delivery_id(field: &str, name: &str, v: &mut Violations) -> (Uuid, Uuid) {
    names::parse_child_id(ORDERS, DELIVERIES, name, PATTERN)
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

pub(super) async fn schedule(
    app: &App,
    req: Request<pb::ScheduleDeliveryRequest>,
) -> Result<pb::Delivery> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let order = crate::convert::id_in(ORDERS, &msg.parent, "parent", &mut v);
    let new = parse_new_delivery(msg.delivery.as_ref(), app.now(), &mut v);
    let (idem, (order, new)) = both(
        Idempotency::new(&p, "ScheduleDelivery", &msg.request_id, msg),
        v.finish((order, new)).map_err(Error::from),
    )?;
    deliveries::schedule(app, p, idem, order.unwrap_or_default(), new).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetDeliveryRequest>) -> Result<pb::Delivery> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    let (order, id) = delivery_id("name", &req.get_ref().name, &mut v);
    v.finish(())?;
    Ok(delivery_to_proto(
        &deliveries::get(app, &p, (order, id)).await?,
    ))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListDeliveriesRequest>,
) -> Result<pb::ListDeliveriesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let order = parse_id("parent", ORDERS, &msg.parent);
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(_)]);
    let page = Page::parse(
        &[&p.tenant_id, DELIVERIES, msg.parent.trim()],
        msg.page_size,
        &msg.page_token,
        fits,
    )
    .map_err(Error::from);
    let (order, page) = both(order, page)?;
    let (rows, next_page_token) = deliveries::list(app, &p, order, &page).await?;
    Ok(pb::ListDeliveriesResponse {
        deliveries: rows.iter().map(delivery_to_proto).collect(),
        next_page_token,
    })
}

/// Runs `step` on the delivery `name` with the request's etag and request id.
async fn change<M: prost::Message>(
    app: &App,
    p: rapport_runtime::auth::Principal,
    (method, msg): (&'static str, &M),
    (name, etag, request_id): (&str, &str, &str),
    step: impl FnOnce(&mut Violations) -> Step,
) -> Result<pb::Delivery> {
    let mut v = Violations::new();
    let ids = delivery_id("name", name, &mut v);
    let step = step(&mut v);
    let (idem, step) = both(
        Idempotency::new(&p, method, request_id, msg),
        v.finish(step).map_err(Error::from),
    )?;
    deliveries::change(app, p, idem, ids, etag, step).await
}

pub(super) async fn reschedule(
    app: &App,
    req: Request<pb::RescheduleDeliveryRequest>,
) -> Result<pb::Delivery> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let now = app.now();
    change(
        app,
        p,
        ("RescheduleDelivery", msg),
        (&msg.name, &msg.etag, &msg.request_id),
        |v| Step::Reschedule {
            window: parse_window(
                msg.window_start.as_ref(),
                msg.window_end.as_ref(),
                "",
                now,
                v,
            ),
            reason: rapport_kit::validate::text(v, "reason", &msg.reason, 500),
        },
    )
    .await
}

pub(super) async fn complete(
    app: &App,
    req: Request<pb::CompleteDeliveryRequest>,
) -> Result<pb::Delivery> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let now = app.now();
    change(
        app,
        p,
        ("CompleteDelivery", msg),
        (&msg.name, &msg.etag, &msg.request_id),
        |v| Step::Complete {
            proof: parse_proof(msg.proof.as_ref(), now, v),
            installed: msg.installed,
        },
    )
    .await
}

pub(super) async fn cancel(
    app: &App,
    req: Request<pb::CancelDeliveryRequest>,
) -> Result<pb::Delivery> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    change(
        app,
        p,
        ("CancelDelivery", msg),
        (&msg.name, &msg.etag, &msg.request_id),
        |v| Step::Cancel {
            reason: rapport_kit::validate::required_text(v, "reason", &msg.reason, 500),
        },
    )
    .await
}

pub(super) async fn follow_up(
    app: &App,
    req: Request<pb::RecordFollowUpRequest>,
) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let order = crate::convert::id_in(ORDERS, &msg.order, "order", &mut v);
    if !(1..=5).contains(&msg.satisfaction) {
        v.add(
            "satisfaction",
            "is required: 1 (very unhappy) .. 5 (very happy)",
        );
    }
    let notes = rapport_kit::validate::multiline_text(&mut v, "notes", &msg.notes, 2000);
    let (idem, order) = both(
        Idempotency::new(&p, "RecordFollowUp", &msg.request_id, msg),
        v.finish(order).map_err(Error::from),
    )?;
    let order = order.unwrap_or_default();
    deliveries::record_follow_up(app, &p, idem, order, &msg.etag, (msg.satisfaction, notes)).await
}
