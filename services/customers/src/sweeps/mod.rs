//! The service's periodic sweep, run every second by `build()`: customer figures that the
//! passing of time (recency, churn) or a change of the tenant's rules made due are worked out
//! again (CU12). It reads the time from the service clock, so tests drive it with a manual
//! clock, and it is driven by each row's own review time, so a restart misses nothing and
//! replicas never work on the same customer at once.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, auth::Principal, clock::Micros, jobs::every};

use crate::app::{App, value};
use crate::store;

/// How often the sweep runs: one indexed query when nothing is due.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Customers worked out per transaction.
const BATCH: u32 = 200;
/// Tenants looked up per round.
const TENANTS_PER_ROUND: u32 = 100;
/// Who the sweep's writes are made by.
const ACTOR: &str = "rapport-customers/sweeps";

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    vec![every("customers.value_reviews", PERIOD, move || {
        let app = app.clone();
        Box::pin(async move { review_values(&app, app.now()).await })
    })]
}

/// Works out every customer's figures due at `now`; how many this call did.
pub async fn review_values(app: &App, now: Micros) -> Result<usize> {
    drain(
        || async move {
            let mut conn = app.db().pool().acquire().await?;
            store::value::tenants_due(&mut conn, now, TENANTS_PER_ROUND).await
        },
        |tenant| async move {
            let mut w = app.write(&Principal::system(&tenant, ACTOR)).await?;
            let n = value::review_due(&mut w, &tenant, now, BATCH).await?;
            w.commit(()).await?;
            Ok(n)
        },
        BATCH as usize,
    )
    .await
}
