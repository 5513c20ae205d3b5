//! Returns and exchanges' use cases (OR4). A return belongs to its order: every step locks the
//! order first, so concurrent returns of one line never name more than was delivered, and what
//! changes the order (units named, units freed, a refund) is one of its revisions, written with
//! the return and the events together.

use rapport_kit::{names, query::Page};
use rapport_proto::orders as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{
    App, EVENTS,
    orders::{self, emit, lock_visible, refused, save},
};
use crate::{
    convert::returns::{NewReturn, return_to_proto},
    domain::{
        order::Order,
        returns::{Refused, Return, ReturnState, Step},
        revision::Kind,
    },
    store::returns as store,
};

/// Emits `return.<kind>` for `r` of `order`; the return's answer.
fn emit_return(w: &mut Write, kind: &str, r: &Return, order: &Order) -> pb::Return {
    let out = return_to_proto(r, &order.currency);
    w.emit(
        &format!("return.{kind}"),
        r.name(),
        &pb::ReturnChanged {
            r#return: Some(out.clone()),
            customer: names::format_id("customers", order.customer_id),
            owner_id: order.owner_id.clone(),
        },
    );
    out
}

/// Requests a return or exchange of delivered units.
pub async fn request(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    order_id: Uuid,
    new: NewReturn,
) -> Result<pb::Return> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, &p, order_id).await?;
    // A ticket asks once: whoever retries its approval gets the return it already made.
    if !new.ticket.is_empty()
        && let Some(made) = store::of_order(w.tx(), &p.tenant_id, order_id)
            .await?
            .into_iter()
            .find(|r| r.ticket == new.ticket && r.state != ReturnState::Rejected)
    {
        return Ok(return_to_proto(&made, &current.currency));
    }
    let mut next = current.clone();
    let value = next
        .reserve_return(&new.lines)
        .map_err(|r| refused(&current, r))?;
    let now = w.now();
    let r = Return {
        id: Uuid::now_v7(),
        order_id,
        kind: new.kind,
        lines: new.lines,
        reason: new.reason,
        ticket: new.ticket,
        state: ReturnState::Requested,
        reject_reason: String::new(),
        value,
        refund: 0,
        refund_method: None,
        decided_by: String::new(),
        decide_time: None,
        receive_time: None,
        complete_time: None,
        create_time: now,
        update_time: now,
        version: 1,
    };
    store::insert(w.tx(), &p.tenant_id, &r).await?;
    let revision = save(&mut w, &p, &current, next, Kind::ReturnChanged).await?;
    emit(&mut w, &revision);
    let out = emit_return(&mut w, "requested", &r, &revision.order);
    w.commit(out).await
}

/// A return of an order the caller may see, with its order; NOT_FOUND otherwise.
pub async fn get(app: &App, p: &Principal, ids: (Uuid, Uuid)) -> Result<(Return, Order)> {
    orders::get_child(app, p, ids).await
}

/// A page of an order's returns, oldest first, with the order.
pub async fn list(
    app: &App,
    p: &Principal,
    order_id: Uuid,
    page: &Page,
) -> Result<(Vec<Return>, String, Order)> {
    orders::list_children(app, p, order_id, page, |r: &Return| (r.create_time, r.id)).await
}

/// The error for a step a return refuses.
fn refused_step(r: &Return, why: Refused) -> Error {
    match why {
        Refused::State(state, kind) => Error::precondition(
            "RETURN_STATE",
            format!(
                "{} is a {} {} and cannot take this step",
                r.name(),
                state.as_str(),
                match kind {
                    crate::domain::returns::ReturnKind::Return => "return",
                    crate::domain::returns::ReturnKind::Exchange => "exchange",
                }
            ),
        ),
        Refused::TooMuch { value } => Error::invalid(
            "amount",
            format!("is more than the value of the returned units, {value}"),
        ),
    }
}

/// Takes `step` on a return: locks its order (the caller must see it) and the return, refuses
/// a stale etag, and writes the return, the order's revision when it changes, and the events,
/// together.
pub async fn take(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    (order_id, id): (Uuid, Uuid),
    etag: &str,
    step: Step,
) -> Result<pb::Return> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let (order, current): (Order, Return) =
        orders::lock_child(app, &mut w, &p, (order_id, id), etag).await?;
    let now = w.now();
    let mut r = current.clone();
    r.take(&step, &p.subject, now)
        .map_err(|why| refused_step(&current, why))?;
    let mut next_order = order.clone();
    match step {
        Step::Reject { .. } => next_order.release_return(&r.lines),
        Step::Refund { .. } => next_order.refund(r.refund),
        Step::Approve | Step::Receive | Step::Replace => {}
    }
    r.update_time = now;
    r.version = current.version + 1;
    if !store::update(w.tx(), &p.tenant_id, &r, current.version).await? {
        return Err(Error::stale_etag(&r.name()));
    }
    let order = if next_order == order {
        order
    } else {
        let revision = save(&mut w, &p, &order, next_order, Kind::ReturnChanged).await?;
        emit(&mut w, &revision);
        revision.order
    };
    let out = emit_return(&mut w, step.event(), &r, &order);
    w.commit(out).await
}
