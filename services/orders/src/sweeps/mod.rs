//! The service's periodic sweeps, run every second by `build()`: delivery reminders and due
//! follow-up visits (OR3). Each reads the time from the service clock, so tests drive them
//! with a manual clock, and each is driven by the rows' own state, so a restart misses
//! nothing and replicas announce each item once.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, auth::Principal, clock::Micros, jobs::every};

use crate::app::{App, deliveries};
use crate::store;

/// How often the sweeps run. Each is one indexed query when nothing is due.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Items claimed per transaction.
const BATCH: u32 = 100;
/// Tenants looked up per round.
const TENANTS_PER_ROUND: u32 = 100;
/// The actor of the sweeps' events.
const ACTOR: &str = "rapport-orders/sweeps";

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    let a = app.clone();
    vec![
        every("orders.delivery_reminders", PERIOD, move || {
            let app = a.clone();
            Box::pin(async move { remind_deliveries(&app, app.now()).await })
        }),
        every("orders.follow_ups", PERIOD, move || {
            let app = app.clone();
            Box::pin(async move { announce_follow_ups(&app, app.now()).await })
        }),
    ]
}

/// Fires every delivery reminder due at `now` that has not fired; how many this call fired.
pub async fn remind_deliveries(app: &App, now: Micros) -> Result<usize> {
    drain(
        || async move {
            let mut conn = app.db().pool().acquire().await?;
            store::deliveries::tenants_with_due_reminders(&mut conn, now, TENANTS_PER_ROUND).await
        },
        |tenant| async move {
            let mut w = app.write(&Principal::system(&tenant, ACTOR)).await?;
            let n = deliveries::remind_due_deliveries(app, &mut w, &tenant, now, BATCH).await?;
            w.commit(()).await?;
            Ok(n)
        },
        BATCH as usize,
    )
    .await
}

/// Announces every follow-up visit due at `now` not yet announced; how many this call did.
pub async fn announce_follow_ups(app: &App, now: Micros) -> Result<usize> {
    drain(
        || async move {
            let mut conn = app.db().pool().acquire().await?;
            store::orders::tenants_with_due_follow_ups(&mut conn, now, TENANTS_PER_ROUND).await
        },
        |tenant| async move {
            let mut w = app.write(&Principal::system(&tenant, ACTOR)).await?;
            let n = deliveries::announce_due_follow_ups(app, &mut w, &tenant, now, BATCH).await?;
            w.commit(()).await?;
            Ok(n)
        },
        BATCH as usize,
    )
    .await
}
