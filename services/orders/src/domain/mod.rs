//! The orders service's types and rules: no gRPC, no SQL, no I/O.

pub mod analytics;
pub mod catalog;
pub mod delivery;
pub mod loan;
pub mod order;
pub mod revision;
pub mod settings;
