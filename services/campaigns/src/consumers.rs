//! Events the campaigns service consumes: the orders service's, to attribute each confirmed
//! order to the strategy run that last reached its customer (or held them out) within the
//! tenant's attribution window, and to count it as the customer's answer (they no longer
//! rest). A cancelled order's attribution is withdrawn. Each event is applied once
//! (`ctx.consume`), in the same transaction as what it changes.

use std::sync::Arc;

use rapport_kit::names;
use rapport_proto::orders as opb;
use rapport_runtime::{
    Result,
    clock::from_timestamp,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::{
    app::{App, EVENTS},
    store::{conversions, recipients},
};

const ORDER: Published<opb::OrderChanged> = Published::family("order.");

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
        "campaigns.order-conversions"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let confirmed = event.r#type.ends_with(".order.confirmed");
        let cancelled = event.r#type.ends_with(".order.cancelled");
        if !confirmed && !cancelled {
            return Ok(());
        }
        let Some(order) = ORDER.payload(event)?.and_then(|c| c.order) else {
            return Ok(());
        };
        let (Ok(order_id), Ok(customer)) = (
            names::parse_id("orders", &order.name),
            names::parse_id("customers", &order.customer),
        ) else {
            return Ok(());
        };
        let settings = self.app.settings(&event.tenant).await?;
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let tenant = event.tenant.clone();
        if cancelled {
            conversions::withdraw(w.tx(), &tenant, &order_id.to_string()).await?;
            return w.commit(()).await;
        }
        let now = w.now();
        let at = order
            .update_time
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        let total = order
            .net_total
            .clone()
            .or_else(|| order.total.clone())
            .unwrap_or_default();
        let customer = customer.to_string();
        if let Some(touch) = conversions::last_touch(
            w.tx(),
            &tenant,
            &customer,
            at - settings.window_micros(),
            at,
        )
        .await?
        {
            conversions::record(
                w.tx(),
                &tenant,
                &conversions::Conversion {
                    order_id: order_id.to_string(),
                    customer_id: customer.clone(),
                    touch,
                    currency_code: total.currency_code,
                    amount: total.minor_units,
                    order_time: at,
                },
            )
            .await?;
        }
        recipients::answered(w.tx(), &tenant, &customer).await?;
        w.commit(()).await
    }
}
