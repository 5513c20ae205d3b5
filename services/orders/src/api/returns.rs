//! ReturnService (OR4): returns and exchanges of an order.

use rapport_kit::{
    names,
    query::{CursorValue, Page},
    validate,
};
use rapport_proto::orders as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, error::both, storage::Idempotency, validation::Violations,
};
use tonic::Request;
use uuid::Uuid;

use super::support::{APPROVERS, READERS, RETURN_REQUESTERS, authorize, parse_id};
use crate::{
    app::{App, orders, returns},
    convert::returns::{MAX_REASON, parse_new_return, parse_refund, return_to_proto},
    domain::{
        order::ORDERS,
        returns::{RETURNS, Step},
    },
};

const PATTERN: &str = "orders/{order}/returns/{return}";

/// The (order, return) ids of a return's name given in `field`.
fn return_id(field: &str, name: &str, v: &mut Violations) -> (Uuid, Uuid) {
    names::parse_child_id(ORDERS, RETURNS, name, PATTERN)
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

pub(super) async fn request(
    app: &App,
    req: Request<pb::RequestReturnRequest>,
) -> Result<pb::Return> {
    let p = authorize(&req, RETURN_REQUESTERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let order = crate::convert::id_in(ORDERS, &msg.parent, "parent", &mut v);
    let new = parse_new_return(msg.r#return.as_ref(), &mut v);
    let (idem, (order, new)) = both(
        Idempotency::new(&p, "RequestReturn", &msg.request_id, msg),
        v.finish((order, new)).map_err(Error::from),
    )?;
    returns::request(app, p, idem, order.unwrap_or_default(), new).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetReturnRequest>) -> Result<pb::Return> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    let (order, id) = return_id("name", &req.get_ref().name, &mut v);
    v.finish(())?;
    let (r, order) = returns::get(app, &p, (order, id)).await?;
    Ok(return_to_proto(&r, &order.currency))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListReturnsRequest>,
) -> Result<pb::ListReturnsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let order = parse_id("parent", ORDERS, &msg.parent);
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(_)]);
    let page = Page::parse(
        &[&p.tenant_id, RETURNS, msg.parent.trim()],
        msg.page_size,
        &msg.page_token,
        fits,
    )
    .map_err(Error::from);
    let (order, page) = both(order, page)?;
    let (rows, next_page_token, order) = returns::list(app, &p, order, &page).await?;
    Ok(pb::ListReturnsResponse {
        returns: rows
            .iter()
            .map(|r| return_to_proto(r, &order.currency))
            .collect(),
        next_page_token,
    })
}

/// Takes the step `parse` reads on the return `name`, with the request's etag and request id.
async fn take<M: prost::Message>(
    app: &App,
    p: Principal,
    (method, msg): (&'static str, &M),
    (name, etag, request_id): (&str, &str, &str),
    parse: impl FnOnce(&mut Violations) -> Step,
) -> Result<pb::Return> {
    let mut v = Violations::new();
    let ids = return_id("name", name, &mut v);
    let step = parse(&mut v);
    let (idem, step) = both(
        Idempotency::new(&p, method, request_id, msg),
        v.finish(step).map_err(Error::from),
    )?;
    returns::take(app, p, idem, ids, etag, step).await
}

pub(super) async fn approve(
    app: &App,
    req: Request<pb::ApproveReturnRequest>,
) -> Result<pb::Return> {
    let p = authorize(&req, APPROVERS)?;
    let m = req.get_ref();
    take(
        app,
        p,
        ("ApproveReturn", m),
        (&m.name, &m.etag, &m.request_id),
        |_| Step::Approve,
    )
    .await
}

pub(super) async fn reject(app: &App, req: Request<pb::RejectReturnRequest>) -> Result<pb::Return> {
    let p = authorize(&req, APPROVERS)?;
    let m = req.get_ref();
    take(
        app,
        p,
        ("RejectReturn", m),
        (&m.name, &m.etag, &m.request_id),
        |v| Step::Reject {
            reason: validate::required_text(v, "reason", &m.reason, MAX_REASON),
        },
    )
    .await
}

pub(super) async fn receive(
    app: &App,
    req: Request<pb::ReceiveReturnRequest>,
) -> Result<pb::Return> {
    let p = authorize(&req, RETURN_REQUESTERS)?;
    let m = req.get_ref();
    take(
        app,
        p,
        ("ReceiveReturn", m),
        (&m.name, &m.etag, &m.request_id),
        |_| Step::Receive,
    )
    .await
}

pub(super) async fn refund(app: &App, req: Request<pb::RefundReturnRequest>) -> Result<pb::Return> {
    let p = authorize(&req, APPROVERS)?;
    let m = req.get_ref();
    // The amount is read in the order's currency.
    let mut v = Violations::new();
    let (order, _) = return_id("name", &m.name, &mut v);
    v.finish(())?;
    let currency = orders::get(app, &p, order)
        .await
        .map(|o| o.currency)
        .unwrap_or_default();
    take(
        app,
        p,
        ("RefundReturn", m),
        (&m.name, &m.etag, &m.request_id),
        |v| {
            let (amount, method) = parse_refund(m.amount.as_ref(), m.method, &currency, v);
            Step::Refund { amount, method }
        },
    )
    .await
}

pub(super) async fn replace(
    app: &App,
    req: Request<pb::ReplaceReturnRequest>,
) -> Result<pb::Return> {
    let p = authorize(&req, APPROVERS)?;
    let m = req.get_ref();
    take(
        app,
        p,
        ("ReplaceReturn", m),
        (&m.name, &m.etag, &m.request_id),
        |_| Step::Replace,
    )
    .await
}
