//! The service's periodic sweeps: approved registrations that expire lapse (PA3), every
//! tenant's active partners are re-evaluated against the tiers once a day (PA2), and last
//! month's commission statements are generated once per partner (PA4). Each reads
//! the time from the service clock, so tests drive them with a manual clock, and each is driven
//! by the rows' own state, so a restart misses nothing and replicas handle each item once.

pub mod webhooks;

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, jobs::every};

use crate::app::{App, commissions, registrations, tiers};

/// How often expired registrations are looked for: one indexed query when none is due.
pub const LAPSE_PERIOD: Duration = Duration::from_secs(1);
/// How often tenants are checked for a due tier evaluation: one query when none is due.
pub const TIER_PERIOD: Duration = Duration::from_secs(2);
/// How often last month's statements are looked for: one indexed query when none is due.
pub const STATEMENT_PERIOD: Duration = Duration::from_secs(2);
/// How often each tenant's partners are re-evaluated, in microseconds: daily.
pub const EVALUATE_EVERY: i64 = 24 * 3_600 * 1_000_000;

/// The loops to run until shutdown.
pub fn jobs(app: App) -> Vec<BoxFuture<'static, ()>> {
    let a = app.clone();
    let b = app.clone();
    vec![
        every("partners.lapse", LAPSE_PERIOD, move || {
            let app = a.clone();
            Box::pin(async move { lapse(&app).await })
        }),
        every("partners.tiers", TIER_PERIOD, move || {
            let app = b.clone();
            Box::pin(async move { evaluate_tiers(&app).await })
        }),
        every("partners.statements", STATEMENT_PERIOD, move || {
            let app = app.clone();
            Box::pin(async move { commissions::generate_statements(&app).await })
        }),
    ]
}

/// Lapses every approved registration expired now; how many were taken.
pub async fn lapse(app: &App) -> Result<usize> {
    drain(
        || registrations::expiring_tenants(app),
        |tenant| async move { registrations::lapse_batch(app, &tenant).await },
        registrations::LAPSE_BATCH,
    )
    .await
}

/// Evaluates the partners of every tenant whose daily evaluation is due; how many partners'
/// tiers changed.
pub async fn evaluate_tiers(app: &App) -> Result<usize> {
    let mut changed = 0;
    for tenant in tiers::tenants(app).await? {
        changed += tiers::evaluate_tenant(app, &tenant, EVALUATE_EVERY).await?;
    }
    Ok(changed)
}
