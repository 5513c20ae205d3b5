//! SQL of the tickets service, written once for PostgreSQL and SQLite; every query filters on
//! the tenant. Functions take a connection or transaction so the caller decides what commits
//! together.

pub mod agents;
pub mod analytics;
pub mod history;
pub mod queues;
pub mod settings;
pub mod surveys;
pub mod tickets;

pub(crate) use rapport_runtime::storage::{from_json, id_column as uuid, to_json};
