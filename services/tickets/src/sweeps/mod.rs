//! The service's periodic sweeps, run every second by `build()`: SLA clocks that turn at risk
//! or breached with their escalations (TK3, TK4), and tickets waiting for an agent with room
//! (TK2). Each reads the time from the service clock, so tests drive them with a manual clock,
//! and each is driven by the rows' own state and locks what it handles, so a restart misses
//! nothing and replicas handle each item once.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, auth::Principal, clock::Micros, jobs::every};

use crate::app::{App, routing, sla};
use crate::store;

/// How often the sweeps run. Each is one indexed query when nothing is due.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Tickets handled per transaction.
const BATCH: u32 = 200;
/// Tenants looked up per round.
const TENANTS_PER_ROUND: u32 = 100;
/// The actor of the sweeps' changes.
pub const ACTOR: &str = "rapport-tickets/sweeps";

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    let a = app.clone();
    vec![
        every("tickets.sla", PERIOD, move || {
            let app = a.clone();
            Box::pin(async move { sweep_sla(&app, app.now()).await })
        }),
        every("tickets.waiting", PERIOD, move || {
            let app = app.clone();
            Box::pin(async move { route_waiting(&app).await })
        }),
    ]
}

/// Moves every SLA target due at `now` on and fires its escalations; how many tickets.
pub async fn sweep_sla(app: &App, now: Micros) -> Result<usize> {
    drain(
        || async move {
            let mut conn = app.db().pool().acquire().await?;
            store::tickets::tenants_with_due_sla(&mut conn, now, TENANTS_PER_ROUND).await
        },
        |tenant| async move {
            let mut w = app.write(&Principal::system(&tenant, ACTOR)).await?;
            let n = sla::sweep_due(app, &mut w, &tenant, now, BATCH, ACTOR).await?;
            w.commit(()).await?;
            Ok(n)
        },
        BATCH as usize,
    )
    .await
}

/// Routes tickets waiting for an agent with room, oldest first; how many found one.
pub async fn route_waiting(app: &App) -> Result<usize> {
    let mut conn = app.db().pool().acquire().await?;
    let tenants = store::tickets::tenants_with_waiting(&mut conn, TENANTS_PER_ROUND).await?;
    drop(conn);
    let mut routed = 0;
    for tenant in tenants {
        let mut w = app.write(&Principal::system(&tenant, ACTOR)).await?;
        routed += routing::route_waiting(app, &mut w, &tenant, BATCH, ACTOR).await?;
        w.commit(()).await?;
    }
    Ok(routed)
}
