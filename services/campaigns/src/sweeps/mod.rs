//! The service's periodic sweeps: scheduled strategy runs are started when due (CA3), runs'
//! audiences are read and queued, queued messages are sent at each channel's pace (CA4, CA5),
//! and coupons past their expiry expire (CA7). Each reads the time from the service clock, so
//! tests drive them with a manual clock, and each is driven by the rows' own state, so a
//! restart misses nothing and replicas handle each item once.

pub mod coupons;

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, jobs::every};

use crate::app::{App, runs, sends, strategies};

/// How often due strategies are looked for: one indexed query when none is due.
pub const SCHEDULE_PERIOD: Duration = Duration::from_secs(1);

/// How often waiting runs are looked for.
pub const PREPARE_PERIOD: Duration = Duration::from_secs(1);
/// How often due messages are sent; each round sends up to a second of each channel's pace.
pub const SEND_PERIOD: Duration = Duration::from_secs(1);

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    let a = app.clone();
    let b = app.clone();
    vec![
        every("campaigns.schedule", SCHEDULE_PERIOD, move || {
            let app = a.clone();
            Box::pin(async move { start_due(&app).await })
        }),
        every("campaigns.prepare", PREPARE_PERIOD, move || {
            let app = b.clone();
            Box::pin(async move { runs::prepare_waiting(&app).await })
        }),
        every("campaigns.send", SEND_PERIOD, move || {
            let app = app.clone();
            Box::pin(async move { sends::round(&app, SEND_PERIOD.as_secs() as i64).await })
        }),
    ]
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
