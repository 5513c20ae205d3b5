//! The service's periodic sweeps: follow-up rules and reclaim (LE7), dwell-time alerts (LE8)
//! and task reminders (LE9). Each reads the time from the service clock, so tests drive them
//! with a manual clock.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_runtime::jobs::every;

use crate::{
    app::App,
    sweeps::{dwell, reclaim, reminders},
};

/// How often the sweeps run. Each is a few indexed queries when nothing is due.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The loops to run until shutdown.
pub fn jobs(api: App) -> Vec<BoxFuture<'static, ()>> {
    let (a, b, c) = (api.clone(), api.clone(), api);
    vec![
        every("leads.reclaim", PERIOD, move || {
            let api = a.clone();
            Box::pin(async move { reclaim::sweep(&api, api.now()).await })
        }),
        every("leads.dwell", PERIOD, move || {
            let api = b.clone();
            Box::pin(async move { dwell::dwell_alerts(&api, api.now()).await })
        }),
        every("leads.reminders", PERIOD, move || {
            let api = c.clone();
            Box::pin(async move { reminders::remind_due_tasks(&api, api.now()).await })
        }),
    ]
}
