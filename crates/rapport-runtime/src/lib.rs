//! What every Rapport service shares: configuration, storage (PostgreSQL / SQLite and
//! migrations), cache (Redis / in-process), events (outbox, relay, bus, idempotent consumers),
//! auth, errors, queries (filters, ordering, page tokens), server bootstrap and telemetry.

pub mod access;
pub mod api_keys;
pub mod auth;
pub mod batch;
pub mod cache;
pub mod clock;
pub mod config;
pub mod context;
pub mod conventions;
pub mod dialect;
pub mod error;
pub mod events;
pub mod gateway;
pub mod jobs;
pub mod peers;
pub mod server;
pub mod shed;
pub mod storage;
pub mod suite;
pub mod telemetry;
pub mod validation;
pub mod write;

pub use error::{Error, Result};
