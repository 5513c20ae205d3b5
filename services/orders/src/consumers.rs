//! Events the orders service consumes from the customers service: when customers are merged,
//! their orders move to the surviving customer, each as a revision with its own event, in the
//! transaction that applies the merge once (the kit's `customer_merges`).

use std::sync::Arc;

use rapport_kit::customer_merges::{self, Repoint};
use rapport_runtime::{
    Result, auth::Principal, context::ServiceContext, events::EventHandler, write::Write,
};
use uuid::Uuid;

use crate::app::{App, EVENTS, orders::repoint_customers};

/// The actor of what customer events change.
const ACTOR: &str = "rapport-orders/customers";

/// Moves orders of merged customers.
struct Orders(App);

#[tonic::async_trait]
impl Repoint for Orders {
    async fn repoint(
        &self,
        w: &mut Write,
        p: &Principal,
        merged: &[Uuid],
        survivor: Uuid,
    ) -> Result<usize> {
        repoint_customers(&self.0, w, p, merged, survivor).await
    }
}

/// The consumer of the customers stream.
pub fn customer_events(ctx: ServiceContext) -> Arc<dyn EventHandler> {
    let app = App::new(ctx.clone());
    customer_merges::handler(ctx, ("orders.customer-events", EVENTS, ACTOR), Orders(app))
}
