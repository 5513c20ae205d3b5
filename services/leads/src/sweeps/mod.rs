//! The service's periodic sweeps: follow-up rules and reclaim, dwell-time alerts and task
//! reminders. Each takes the time to judge by, so tests drive them with a manual clock; `jobs`
//! runs them on a timer.

pub mod dwell;
pub mod reclaim;
pub mod reminders;
