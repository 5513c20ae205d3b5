//! The delivery lifecycle's use cases (OR3): booking, moving, making and calling off
//! deliveries, and the follow-up visit. A delivery belongs to its order: every change locks the
//! order first (so two deliveries never book the same units), and what changes the order's
//! lines or state is one of its revisions, written with the delivery and the events together.

use rapport_kit::{names, query::Page};
use rapport_proto::orders as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{
    App, EVENTS,
    orders::{self, Apply, Change, emit, lock_visible, refused, save},
};
use crate::{
    convert::{
        delivery::{NewDelivery, delivery_to_proto},
        order::{order_to_proto, revision_to_proto},
    },
    domain::{
        delivery::{Delivery, DeliveryState, NotScheduled, Proof, Window},
        order::{Order, State},
        revision::{Kind, Revision},
    },
    store::{children, deliveries as store, orders as order_store},
};

/// The error for a change a delivery refuses.
fn not_scheduled(d: &Delivery, NotScheduled(state): NotScheduled) -> Error {
    Error::precondition(
        "DELIVERY_STATE",
        format!("{} is {} and no longer changes", d.name(), state.as_str()),
    )
}

/// Emits `delivery.<kind>` for `d` of `order`; the delivery's answer.
pub(super) fn emit_delivery(
    w: &mut Write,
    kind: &str,
    d: &Delivery,
    order: &Order,
) -> pb::Delivery {
    let out = delivery_to_proto(d);
    w.emit(
        &format!("delivery.{kind}"),
        d.name(),
        &pb::DeliveryChanged {
            delivery: Some(out.clone()),
            customer: names::format_id("customers", order.customer_id),
            owner_id: order.owner_id.clone(),
        },
    );
    out
}

/// Emits the order's events for a revision a delivery made: `order.delivery_changed`, and
/// `order.delivered` when it delivered the last line.
fn emit_order(w: &mut Write, r: &Revision) {
    emit(w, r);
    if r.order.state == State::Delivered {
        let out = order_to_proto(&r.order);
        w.emit(
            "order.delivered",
            r.order.name(),
            &pb::OrderChanged {
                order: Some(out),
                revision: Some(revision_to_proto(r, false)),
            },
        );
    }
}

/// Books a delivery of some of a confirmed order's lines.
pub async fn schedule(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    order_id: Uuid,
    new: NewDelivery,
) -> Result<pb::Delivery> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, &p, order_id).await?;
    let mut next = current.clone();
    next.book(&new.lines).map_err(|r| refused(&current, r))?;
    let now = w.now();
    let d = Delivery {
        id: Uuid::now_v7(),
        order_id,
        lines: new.lines,
        window_start: new.window.start,
        window_end: new.window.end,
        address: new.address,
        crew: new.crew,
        installation: new.installation,
        state: DeliveryState::Scheduled,
        reschedule_count: 0,
        reschedule_reason: String::new(),
        proof: None,
        installed: false,
        deliver_time: None,
        cancel_reason: String::new(),
        remind_time: new.window.remind_time(settings.delivery_reminder_hours),
        reminders_sent: 0,
        create_time: now,
        update_time: now,
        version: 1,
    };
    store::insert(w.tx(), &p.tenant_id, &d).await?;
    let revision = save(&mut w, &p, &current, next, Kind::DeliveryChanged).await?;
    emit_order(&mut w, &revision);
    let out = emit_delivery(&mut w, "scheduled", &d, &revision.order);
    w.commit(out).await
}

/// A delivery of an order the caller may see; NOT_FOUND otherwise.
pub async fn get(app: &App, p: &Principal, ids: (Uuid, Uuid)) -> Result<Delivery> {
    Ok(orders::get_child(app, p, ids).await?.0)
}

/// A page of an order's deliveries, oldest first.
pub async fn list(
    app: &App,
    p: &Principal,
    order_id: Uuid,
    page: &Page,
) -> Result<(Vec<Delivery>, String)> {
    let (rows, next, _) =
        orders::list_children(app, p, order_id, page, |d: &Delivery| (d.create_time, d.id)).await?;
    Ok((rows, next))
}

/// What a change does to a delivery and its order.
pub enum Step {
    Reschedule { window: Window, reason: String },
    Complete { proof: Proof, installed: bool },
    Cancel { reason: String },
}

/// Changes a scheduled delivery: locks its order (the caller must see it) and the delivery,
/// refuses a stale etag, and writes the delivery, the order's revision when its lines or state
/// change, and the events, together.
pub async fn change(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (order_id, id): (Uuid, Uuid),
    etag: &str,
    step: Step,
) -> Result<pb::Delivery> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let (order, current): (Order, Delivery) =
        orders::lock_child(app, &mut w, &p, (order_id, id), etag).await?;
    let now = w.now();
    let mut d = current.clone();
    let mut next_order = order.clone();
    let (kind, remind_again) = match step {
        Step::Reschedule { window, reason } => {
            d.reschedule(window, &reason, settings.delivery_reminder_hours)
                .map_err(|e| not_scheduled(&current, e))?;
            ("rescheduled", true)
        }
        Step::Complete { proof, installed } => {
            d.complete(proof, installed, now)
                .map_err(|e| not_scheduled(&current, e))?;
            next_order.deliver(&d.lines, now, settings.follow_up_days);
            ("delivered", false)
        }
        Step::Cancel { reason } => {
            d.cancel(&reason).map_err(|e| not_scheduled(&current, e))?;
            next_order.unbook(&d.lines);
            ("cancelled", false)
        }
    };
    d.update_time = now;
    d.version = current.version + 1;
    if !store::update(w.tx(), &p.tenant_id, &d, current.version, remind_again).await? {
        return Err(Error::stale_etag(&d.name()));
    }
    let order = if next_order == order {
        order
    } else {
        let revision = save(&mut w, &p, &order, next_order, Kind::DeliveryChanged).await?;
        emit_order(&mut w, &revision);
        revision.order
    };
    let out = emit_delivery(&mut w, kind, &d, &order);
    w.commit(out).await
}

/// Records the follow-up visit of a delivered order, which completes it.
pub async fn record_follow_up(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    order_id: Uuid,
    etag: &str,
    (satisfaction, notes): (i32, String),
) -> Result<pb::Order> {
    let now = app.now();
    let by = p.subject.clone();
    let apply: Apply = Box::new(move |o, _| o.record_follow_up(satisfaction, &notes, &by, now));
    orders::run(
        app,
        p,
        idem,
        order_id,
        etag,
        Change::new(Kind::FollowedUp, apply),
    )
    .await
}

/// The follow-up visits due: announced once each as `order.follow_up_due`.
pub async fn announce_due_follow_ups(
    app: &App,
    w: &mut Write,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<usize> {
    let dialect = app.db().dialect();
    let due = order_store::claim_due_follow_ups(w.tx(), dialect, tenant, now, limit).await?;
    for o in &due {
        let mut o = o.clone();
        if let Some(f) = o.follow_up.as_mut() {
            f.announce_time = Some(now);
        }
        // What the order is, unchanged but for the announcement: its version stays.
        order_store::set_doc(w.tx(), tenant, &o).await?;
        orders::invalidate(w, tenant, o.id);
        w.emit(
            "order.follow_up_due",
            o.name(),
            &pb::OrderChanged {
                order: Some(order_to_proto(&o)),
                revision: None,
            },
        );
    }
    Ok(due.len())
}

/// The delivery reminders due: fired once each as `delivery.reminder_due`.
pub async fn remind_due_deliveries(
    app: &App,
    w: &mut Write,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<usize> {
    let dialect = app.db().dialect();
    let due = store::claim_due_reminders(w.tx(), dialect, tenant, now, limit).await?;
    for d in &due {
        let mut d = d.clone();
        d.reminders_sent += 1;
        // A reminder is not a change the caller makes: the etag stays.
        children::set_doc(w.tx(), (tenant, d.id), &d).await?;
        let Some(order) = order_store::get_order(w.tx(), tenant, d.order_id, None).await? else {
            continue;
        };
        emit_delivery(w, "reminder_due", &d, &order);
    }
    Ok(due.len())
}
