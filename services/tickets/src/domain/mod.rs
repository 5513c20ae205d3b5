//! The tickets service's rules, free of I/O: tickets and their workflow, business calendars,
//! SLA clocks, escalation, routing decisions and the settings that steer them.

pub mod analytics;
pub mod calendar;
pub mod escalation;
pub mod queue;
pub mod settings;
pub mod sla;
pub mod ticket;
