//! The campaigns service's rules, free of I/O: channels, the tenant's settings.

pub mod channel;
pub mod inbox;
pub mod settings;
