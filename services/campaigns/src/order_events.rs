//! Events the campaigns service consumes from the orders service: an order cancelled before
//! delivery gives back the coupon redeemed for it, in the transaction that applies the event
//! once. A coupon meanwhile released, or not redeemed for that order, is left as it is.

use std::sync::Arc;

use rapport_kit::names;
use rapport_proto::orders as opb;
use rapport_runtime::{
    Error, Result,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::{
    app::{App, coupons, events::EVENTS},
    domain::coupon::parse_code,
};

const CANCELLED: Published<opb::OrderChanged> = Published::new("order.cancelled");

/// Consumes the orders stream.
pub struct OrderEvents {
    app: App,
}

impl OrderEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(OrderEvents { app: App::new(ctx) })
    }
}

#[tonic::async_trait]
impl EventHandler for OrderEvents {
    fn group(&self) -> &'static str {
        "campaigns.order-events"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(order) = CANCELLED.payload(event)?.and_then(|c| c.order) else {
            return Ok(());
        };
        let Ok(code) = parse_code(&order.coupon_code) else {
            return Ok(());
        };
        let Ok(id) = names::parse_id("orders", &order.name) else {
            return Ok(());
        };
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let name = names::format_id("orders", id);
        match coupons::release_in(&mut w, &code, &name).await {
            // Nothing to give back: the coupon is gone from this tenant, or held by another
            // order. The event is applied all the same.
            Ok(_) | Err(Error::NotFound(_) | Error::FailedPrecondition { .. }) => {
                w.commit(()).await
            }
            Err(e) => Err(e),
        }
    }
}
