//! OrderService (OR2): orders, payments, the discount approval, revisions and settings.

use rapport_kit::{
    list_params, mask,
    query::{CursorValue, ListQuery, ListSpec, OrderBy, Page},
};
use rapport_proto::orders as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, error::both, storage::Idempotency, validation::Violations,
};
use tonic::Request;

use super::{
    peers,
    support::{ADMINS, APPROVERS, READERS, WORKERS, authorize, parse_id},
};
use crate::{
    app::{App, orders},
    convert::{
        id_in,
        order::{
            NewOrder, ORDER_MASK, order_to_proto, parse_coupon_code, parse_new_order, parse_patch,
            parse_payment, revision_to_proto,
        },
        settings::{SETTINGS_MASK, apply, settings_to_proto},
    },
    domain::{
        order::{MAX_REASON, ORDERS},
        settings::SETTINGS_NAME,
    },
    store::orders::ORDER_FILTERS,
};

/// What ListOrders filters and sorts on.
const LIST: ListSpec = ListSpec {
    filter_fields: ORDER_FILTERS,
    order_fields: &["create_time", "update_time", "confirm_time", "total"],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &[],
};

pub(super) async fn create(app: &App, req: Request<pb::CreateOrderRequest>) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let coupon = parse_coupon_code(&msg.coupon_code, &mut v);
    if coupon.is_some() && msg.request_id.trim().is_empty() {
        v.add(
            "request_id",
            "is required with a coupon_code: it makes redeeming the coupon safe to retry",
        );
    }
    let new = match &msg.order {
        None => {
            v.add("order", "is required");
            None
        }
        Some(o) => parse_new_order(o, &mut v),
    };
    let (idem, new) = both(
        Idempotency::new(&p, "CreateOrder", &msg.request_id, msg),
        v.finish(new).map_err(Error::from),
    )?;
    let new = new.ok_or_else(|| Error::invalid("order.customer", "is required"))?;
    peers::check_visible(app, &req, new.customer_id, "order.customer").await?;
    match (coupon, idem) {
        (Some(code), Some(idem)) => create_redeeming(app, &req, p, idem, new, &code).await,
        (_, idem) => orders::create(app, p, idem, new).await,
    }
}

/// CreateOrder with a coupon: the order is priced, the coupon redeemed for it on the caller's
/// behalf, then the order written, attributed to the coupon's campaign. The order's id is
/// derived from the request id, so a retry redeems for the same order (and gets the same
/// redemption) rather than for a second one. If the order is not written after all, the
/// redemption is released: nothing is left half done.
async fn create_redeeming(
    app: &App,
    req: &Request<pb::CreateOrderRequest>,
    p: Principal,
    idem: Idempotency,
    new: NewOrder,
    code: &str,
) -> Result<pb::Order> {
    // A retry of a created order answers from its record without asking campaigns again: its
    // coupon may have been released since (the order cancelled), and must stay so.
    if let Some(done) = orders::replayed(app, &idem).await? {
        return Ok(done);
    }
    let mut order = orders::draft(app, &p, new).await?;
    order.id = idem.derived_id();
    let coupon = peers::redeem_coupon(app, req, code, &order).await?;
    let redeemed = (coupon.code.as_str(), coupon.campaign.as_str());
    let written = orders::insert_redeemed(app, p, Some(idem), order.clone(), redeemed).await;
    match &written {
        // The request id was taken meanwhile by another request, whose order may hold this
        // very redemption: it is not this attempt's to give back.
        Err(Error::BadRequest {
            reason: "REQUEST_ID_REUSED",
            ..
        })
        | Ok(_) => {}
        Err(_) => peers::release_coupon(app, req, &coupon.code, &order).await,
    }
    written
}

pub(super) async fn get(app: &App, req: Request<pb::GetOrderRequest>) -> Result<pb::Order> {
    let p = authorize(&req, READERS)?;
    let id = parse_id("name", ORDERS, &req.get_ref().name)?;
    orders::get_answer(app, &p, id).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListOrdersRequest>,
) -> Result<pb::ListOrdersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let scope_key = format!("{:?}", crate::app::scope(&p));
    let q = ListQuery::parse(
        &LIST,
        list_params!(msg),
        app.db().dialect(),
        2,
        &[&p.tenant_id, ORDERS, &scope_key],
    )?;
    let (rows, next_page_token) = orders::list(app, &p, &q).await?;
    Ok(pb::ListOrdersResponse {
        orders: rows.iter().map(order_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(app: &App, req: Request<pb::UpdateOrderRequest>) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let idem = Idempotency::new(&p, "UpdateOrder", &msg.request_id, &msg);
    let Some(given) = msg.order else {
        return Err(Error::invalid("order", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&ORDER_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&ORDER_MASK, &selected);
    let id = id_in(ORDERS, &given.name, "order.name", &mut v);
    let (idem, id) = both(idem, v.finish(id).map_err(Error::from))?;
    let id = id.unwrap_or_default();
    let parse = |current: &_, v: &mut Violations| parse_patch(&given, &fields, current, v);
    orders::update(app, &p, idem, id, &given.etag, parse).await
}

pub(super) async fn confirm(app: &App, req: Request<pb::ConfirmOrderRequest>) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let (idem, id) = both(
        Idempotency::new(&p, "ConfirmOrder", &msg.request_id, msg),
        parse_id("name", ORDERS, &msg.name),
    )?;
    orders::confirm(app, &p, idem, id, &msg.etag).await
}

pub(super) async fn cancel(app: &App, req: Request<pb::CancelOrderRequest>) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = id_in(ORDERS, &msg.name, "name", &mut v);
    let reason = rapport_kit::validate::required_text(&mut v, "reason", &msg.reason, MAX_REASON);
    let (idem, id) = both(
        Idempotency::new(&p, "CancelOrder", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    orders::cancel(app, &p, idem, id.unwrap_or_default(), &msg.etag, reason).await
}

pub(super) async fn approve_discount(
    app: &App,
    req: Request<pb::ApproveOrderDiscountRequest>,
) -> Result<pb::Order> {
    let p = authorize(&req, APPROVERS)?;
    let msg = req.get_ref();
    let (idem, id) = both(
        Idempotency::new(&p, "ApproveOrderDiscount", &msg.request_id, msg),
        parse_id("name", ORDERS, &msg.name),
    )?;
    orders::approve_discount(app, &p, idem, id, &msg.etag).await
}

pub(super) async fn add_payment(
    app: &App,
    req: Request<pb::AddPaymentRequest>,
) -> Result<pb::Order> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = id_in(ORDERS, &msg.order, "order", &mut v);
    let idem = Idempotency::new(&p, "AddPayment", &msg.request_id, msg);
    let (idem, id) = both(idem, v.finish(id).map_err(Error::from))?;
    let id = id.unwrap_or_default();
    // The amount is read in the order's currency.
    let current = orders::get(app, &p, id).await?;
    let mut v = Violations::new();
    let payment = parse_payment(msg.payment.as_ref(), &current.currency, app.now(), &mut v);
    let payment = v
        .finish(payment)?
        .ok_or_else(|| Error::invalid("payment", "is required"))?;
    orders::add_payment(app, &p, idem, id, &msg.etag, payment).await
}

pub(super) async fn revisions(
    app: &App,
    req: Request<pb::ListOrderRevisionsRequest>,
) -> Result<pb::ListOrderRevisionsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let id = parse_id("parent", ORDERS, &msg.parent);
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_)]);
    let page = Page::parse(
        &[&p.tenant_id, "revisions", msg.parent.trim()],
        msg.page_size,
        &msg.page_token,
        fits,
    )
    .map_err(Error::from);
    let (id, page) = both(id, page)?;
    let (rows, next_page_token) = orders::revisions(app, &p, id, &page).await?;
    Ok(pb::ListOrderRevisionsResponse {
        revisions: rows.iter().map(|r| revision_to_proto(r, true)).collect(),
        next_page_token,
    })
}

pub(super) async fn get_settings(
    app: &App,
    req: Request<pb::GetOrderSettingsRequest>,
) -> Result<pb::OrderSettings> {
    let p = authorize(&req, READERS)?;
    rapport_kit::settings::parse_get(&req.get_ref().name, SETTINGS_NAME)?;
    Ok(settings_to_proto(&app.settings(&p.tenant_id).await?))
}

pub(super) async fn update_settings(
    app: &App,
    req: Request<pb::UpdateOrderSettingsRequest>,
) -> Result<pb::OrderSettings> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let (fields, given) = rapport_kit::settings::parse_update(
        &SETTINGS_MASK,
        msg.update_mask,
        msg.settings,
        SETTINGS_NAME,
        |s| &s.name,
    )?;
    orders::update_settings(app, &p, &given.etag, |s, v| apply(&given, &fields, s, v)).await
}
