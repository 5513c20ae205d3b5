//! Events that become webhooks (PA6): one consumer per stream a partner may receive events
//! from, each applying an event once (see `app::webhook_deliveries`).

use std::sync::Arc;

use rapport_runtime::{
    Result,
    context::ServiceContext,
    events::{Event, EventHandler},
};

use crate::app::{App, webhook_deliveries};

/// The streams whose events are delivered, each with its consumer group.
const STREAMS: &[(&str, &str)] = &[
    ("partners", "partners.webhooks.partners"),
    ("leads", "partners.webhooks.leads"),
    ("orders", "partners.webhooks.orders"),
];

/// Consumes one stream into webhook deliveries.
struct FanOut {
    app: App,
    stream: &'static str,
    group: &'static str,
}

/// The handlers, one per stream.
pub fn handlers(ctx: ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    let app = App::new(ctx);
    STREAMS
        .iter()
        .map(|(stream, group)| {
            Arc::new(FanOut {
                app: app.clone(),
                stream,
                group,
            }) as Arc<dyn EventHandler>
        })
        .collect()
}

#[tonic::async_trait]
impl EventHandler for FanOut {
    fn group(&self) -> &'static str {
        self.group
    }

    fn stream(&self) -> &'static str {
        self.stream
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        webhook_deliveries::fan_out(&self.app, self.group, event).await
    }
}
