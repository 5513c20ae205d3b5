//! Periodic jobs (reminders, reclaim, SLA sweeps): one loop per job that runs a sweep every
//! period until the server stops. Sweeps must be safe to run on several replicas at once and
//! must derive what is due from stored state, so a restart misses nothing; this loop only
//! schedules them, logs failures and keeps going.

use std::time::Duration;

use futures::future::BoxFuture;

use crate::Result;

/// A loop that calls `sweep` every `period`; each call returns how many items it handled.
pub fn every<F>(name: &'static str, period: Duration, sweep: F) -> BoxFuture<'static, ()>
where
    F: Fn() -> BoxFuture<'static, Result<usize>> + Send + 'static,
{
    Box::pin(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(job = name, handled = n, "sweep"),
                Err(e) => {
                    tracing::warn!(job = name, error = %e, "sweep failed; retrying next period")
                }
            }
        }
    })
}
