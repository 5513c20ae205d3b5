//! What every Rapport service shares: configuration, storage (PostgreSQL / SQLite and
//! migrations), cache (Redis / in-process), events (outbox, relay, bus, idempotent consumers),
//! auth, errors, queries (filters, ordering, page tokens), server bootstrap and telemetry.

pub mod clock;
pub mod dialect;
pub mod error;
pub mod validation;

pub use error::{Error, Result};
