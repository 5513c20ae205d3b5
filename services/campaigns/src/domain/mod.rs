//! The campaigns service's rules, free of I/O: channels, the tenant's settings.

pub mod caps;
pub mod channel;
pub mod control;
pub mod inbox;
pub mod occasion;
pub mod report;
pub mod run;
pub mod sending;
pub mod settings;
pub mod strategy;
pub mod uplift;
