//! Events the orders service consumes from the customers service: when customers are merged,
//! their orders move to the surviving customer. Each event is applied once (`ctx.consume`),
//! and each order it moves is a revision with its own event, in the same transaction.

use std::sync::Arc;

use rapport_kit::names;
use rapport_proto::customers as cpb;
use rapport_runtime::{
    Result,
    auth::Principal,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::app::{App, EVENTS, orders::repoint_customers};

const MERGED: Published<cpb::CustomersMerged> = Published::new("customers.merged");
/// The actor of what customer events change.
const ACTOR: &str = "rapport-orders/customers";

/// Consumes the customers stream.
pub struct CustomerEvents {
    app: App,
}

impl CustomerEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(CustomerEvents { app: App::new(ctx) })
    }
}

#[tonic::async_trait]
impl EventHandler for CustomerEvents {
    fn group(&self) -> &'static str {
        "orders.customer-events"
    }

    fn stream(&self) -> &'static str {
        "customers"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(merged) = MERGED.payload(event)? else {
            return Ok(());
        };
        // Names that do not parse name no order of this service.
        let Ok(survivor) = names::parse_id("customers", &merged.survivor) else {
            return Ok(());
        };
        let gone: Vec<_> = merged
            .merged
            .iter()
            .filter_map(|m| names::parse_id("customers", m).ok())
            .collect();
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let system = Principal::system(&event.tenant, ACTOR);
        repoint_customers(&self.app, &mut w, &system, &gone, survivor).await?;
        w.commit(()).await
    }
}
