//! Events the campaigns service consumes from the orders service: an order cancelled before
//! delivery gives back the coupon redeemed for it, in the transaction that applies the event
//! once. A coupon meanwhile released, or not redeemed for that order, is left as it is.

use std::sync::Arc;

use rapport_kit::{
    follow::{self, Follow, Route},
    names,
};
use rapport_proto::orders as opb;
use rapport_runtime::{
    Error, Result,
    context::ServiceContext,
    events::{EventHandler, Published},
    write::Write,
};

use crate::{
    app::{coupons, events::EVENTS},
    domain::coupon::parse_code,
};

const CANCELLED: Published<opb::OrderChanged> = Published::new("order.cancelled");

/// Gives back the coupons of cancelled orders.
struct Release;

#[tonic::async_trait]
impl Follow<opb::OrderChanged> for Release {
    /// The coupon's code and the order's name.
    type Item = (String, String);

    fn pick(&self, changed: opb::OrderChanged) -> Option<(String, String)> {
        let order = changed.order?;
        let code = parse_code(&order.coupon_code).ok()?;
        let id = names::parse_id("orders", &order.name).ok()?;
        Some((code, names::format_id("orders", id)))
    }

    async fn apply(&self, w: &mut Write, (code, order): (String, String)) -> Result<()> {
        match coupons::release_in(w, &code, &order).await {
            // Nothing to give back: the coupon is gone from this tenant, or held by another
            // order. The event is applied all the same.
            Ok(_) | Err(Error::NotFound(_) | Error::FailedPrecondition { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The consumer of the orders stream.
pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
    let route = Route {
        group: "campaigns.order-events",
        stream: "orders",
        source: EVENTS,
    };
    follow::handler(ctx, route, CANCELLED, Release)
}
