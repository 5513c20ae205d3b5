//! The orders service's types and rules: no gRPC, no SQL, no I/O.

pub mod analytics;
pub mod catalog;
pub mod charges;
pub mod delivery;
pub mod loan;
pub mod order;
pub mod recommend;
pub mod returns;
pub mod revision;
pub mod settings;
