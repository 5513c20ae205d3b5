//! The webhook delivery sweep (PA6): every second, the deliveries due by the service clock
//! are claimed batch by batch (locked rows skipped, so replicas attempt each once), sent, and
//! recorded. One indexed query when nothing is due.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, jobs::every};

use crate::app::{
    webhook_deliveries::{BATCH, deliver_batch, due_tenants},
    webhooks::Webhooks,
};

/// How often due deliveries are looked for.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The loop to run until shutdown.
pub fn job(hooks: Webhooks) -> BoxFuture<'static, ()> {
    every("partners.webhooks", PERIOD, move || {
        let hooks = hooks.clone();
        Box::pin(async move { deliver(&hooks).await })
    })
}

/// Attempts every delivery due now; how many attempts were made.
pub async fn deliver(hooks: &Webhooks) -> Result<usize> {
    drain(
        || due_tenants(hooks),
        |tenant| async move { deliver_batch(hooks, &tenant).await },
        BATCH,
    )
    .await
}
