//! Events the tickets service consumes: when customers are merged their tickets move to the
//! surviving customer (the kit's `customer_merges`), and a return created from a ticket is
//! followed through the orders service's return events. Each event is applied once
//! (`ctx.consume`), in the same transaction as what it changes.

use std::sync::Arc;

use rapport_kit::{
    customer_merges::{self, Repoint},
    names,
};
use rapport_proto::orders as opb;
use rapport_runtime::{
    Result,
    auth::Principal,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
    write::Write,
};
use uuid::Uuid;

use crate::app::{App, EVENTS, tickets};

const RETURN: Published<opb::ReturnChanged> = Published::family("return.");
/// The actor of what customer events change.
const CUSTOMERS_ACTOR: &str = "rapport-tickets/customers";
/// The actor of what order events change.
const ORDERS_ACTOR: &str = "rapport-tickets/orders";

/// Moves tickets of merged customers.
struct Tickets(App);

#[tonic::async_trait]
impl Repoint for Tickets {
    async fn repoint(
        &self,
        w: &mut Write,
        p: &Principal,
        merged: &[Uuid],
        survivor: Uuid,
    ) -> Result<usize> {
        tickets::repoint_customers(&self.0, w, p, merged, survivor).await
    }
}

/// The consumer of the customers stream.
pub fn customer_events(ctx: ServiceContext) -> Arc<dyn EventHandler> {
    let app = App::new(ctx.clone());
    customer_merges::handler(
        ctx,
        ("tickets.customer-events", EVENTS, CUSTOMERS_ACTOR),
        Tickets(app),
    )
}

/// Consumes the orders stream: returns that name a ticket.
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
        "tickets.order-events"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(changed) = RETURN.payload(event)? else {
            return Ok(());
        };
        let Some(r) = changed.r#return else {
            return Ok(());
        };
        let Ok(ticket) = names::parse_id("tickets", &r.ticket) else {
            return Ok(());
        };
        let state = opb::ReturnState::try_from(r.state)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("RETURN_STATE_")
                    .to_owned()
            })
            .unwrap_or_default();
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let system = Principal::system(&event.tenant, ORDERS_ACTOR);
        tickets::return_changed(&self.app, &mut w, &system, ticket, (&r.name, &state)).await?;
        w.commit(()).await
    }
}
