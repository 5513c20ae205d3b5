//! The service's periodic sweeps: scheduled strategy runs are started when due (CA3). Each
//! reads the time from the service clock, so tests drive them with a manual clock, and each is
//! driven by the rows' own state, so a restart misses nothing and replicas handle each item
//! once.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, jobs::every};

use crate::app::{App, strategies};

/// How often due strategies are looked for: one indexed query when none is due.
pub const SCHEDULE_PERIOD: Duration = Duration::from_secs(1);

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    vec![every("campaigns.schedule", SCHEDULE_PERIOD, move || {
        let app = app.clone();
        Box::pin(async move { start_due(&app).await })
    })]
}

/// Starts every scheduled run due now; how many were started.
pub async fn start_due(app: &App) -> Result<usize> {
    drain(
        || strategies::due_tenants(app),
        |tenant| async move { strategies::start_due(app, &tenant).await },
        strategies::DUE_BATCH,
    )
    .await
}
