//! The peer services as orders ask them, always on the caller's behalf so each applies its
//! own visibility: whether a customer exists and the caller may see it, what a customer or a
//! lead needs, and the coupon an order redeems.

use rapport_kit::{
    names,
    peer::{self, Refusal},
};
use rapport_proto::{
    campaigns::{self as campaigns_pb, coupon_service_client::CouponServiceClient},
    customers as cpb,
    leads::{self as lpb, lead_service_client::LeadServiceClient},
    types as pt,
};
use rapport_runtime::{Result, peers::Peers};
use tonic::{Code, Request};
use uuid::Uuid;

use crate::{app::App, domain::order::Order};

/// INVALID_ARGUMENT on `field` unless the customer exists, is live and is visible to the
/// caller of `req`; UNAVAILABLE when the customers service does not answer (nothing was
/// written: the caller may retry).
pub(super) async fn check_visible<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<()> {
    peer::live_customer(&app.ctx.peers, req, id, field)
        .await
        .map(drop)
}

/// The customer `id`, read on the caller's behalf.
pub(super) async fn customer<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    peer::customer(&app.ctx.peers, req, id, field).await
}

/// The lead `id`, read from the leads service on the caller's behalf.
pub(super) async fn lead<T>(
    app: &App,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<lpb::Lead> {
    let name = names::format_id("leads", id);
    let mut client = LeadServiceClient::new(app.ctx.peers.channel("leads")?);
    let call = Peers::request(req, lpb::GetLeadRequest { name: name.clone() });
    client
        .get_lead(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| peer::as_field("leads", &s, &name, field))
}

/// The campaigns service's refusals of a redemption, passed on to the caller as they are.
const COUPON_REFUSALS: &[&str] = &[
    "COUPON_ALREADY_REDEEMED",
    "COUPON_EXPIRED",
    "COUPON_NOT_FOR_CUSTOMER",
    "COUPON_MINIMUM_NOT_MET",
    "COUPON_CURRENCY",
    "CAMPAIGN_CANCELLED",
];

/// The campaigns service's coupons, on the caller's behalf.
fn coupons(app: &App) -> Result<CouponServiceClient<tonic::transport::Channel>> {
    Ok(CouponServiceClient::new(
        app.ctx.peers.channel("campaigns")?,
    ))
}

/// Redeems coupon `code` for `order` (not yet written) on the caller of `req`'s behalf, with a
/// request id derived from the order's id, which is derived from the order's request id: a
/// retried CreateOrder redeems for the same order and gets the same redemption. An unknown
/// code is a bad `coupon_code`; the campaigns service's refusals are passed on; a campaigns
/// service that does not answer is UNAVAILABLE, and nothing was written.
pub(super) async fn redeem_coupon<T>(
    app: &App,
    req: &Request<T>,
    code: &str,
    order: &Order,
) -> Result<campaigns_pb::Coupon> {
    let call = Peers::request(
        req,
        campaigns_pb::RedeemCouponRequest {
            code: code.to_owned(),
            order: order.name(),
            customer: names::format_id("customers", order.customer_id),
            order_amount: Some(pt::Money {
                currency_code: order.currency.clone(),
                minor_units: order.totals().total,
            }),
            request_id: format!("order:{}", order.id.simple()),
        },
    );
    let status = match coupons(app)?.redeem_coupon(call).await {
        Ok(r) => return Ok(r.into_inner()),
        Err(s) => s,
    };
    let refusal = Refusal::read("campaigns", &status);
    let coupon = format!("coupons/{code}");
    Err(match refusal.code {
        Code::NotFound | Code::InvalidArgument => {
            peer::as_field("campaigns", &status, &coupon, "coupon_code")
        }
        _ => match refusal.passed_on(COUPON_REFUSALS, "COUPON_REFUSED") {
            Some(e) => e,
            None => refusal.into_error(
                &format!("{coupon} could not be redeemed"),
                "nothing was written; retry with the same request_id",
            ),
        },
    })
}

/// Gives back coupon `code` redeemed for `order`, which was not written, on the caller of
/// `req`'s behalf. If the campaigns service does not answer, the coupon stays redeemed for an
/// order that does not exist; the order's id is derived from its request id, so retrying the
/// same CreateOrder finds that redemption again and writes the order.
pub(super) async fn release_coupon<T>(app: &App, req: &Request<T>, code: &str, order: &Order) {
    let call = Peers::request(
        req,
        campaigns_pb::ReleaseCouponRedemptionRequest {
            code: code.to_owned(),
            order: order.name(),
            request_id: String::new(),
        },
    );
    let released = match coupons(app) {
        Ok(mut client) => client
            .release_coupon_redemption(call)
            .await
            .map(drop)
            .map_err(|s| s.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = released {
        tracing::warn!(order = %order.name(), error = %e, "releasing the coupon of an unwritten order failed");
    }
}
