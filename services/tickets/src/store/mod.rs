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

use rapport_runtime::{Error, Result};
use serde::{Serialize, de::DeserializeOwned};

pub(crate) use rapport_runtime::storage::id_column as uuid;

/// A value stored as JSON text.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// A value read back from JSON text in `table`.
pub(crate) fn from_json<T: DeserializeOwned>(table: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("bad JSON in {table}: {e}")))
}
