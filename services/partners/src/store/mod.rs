//! SQL of the partners service, written once for PostgreSQL and SQLite; every query filters on
//! the tenant. Functions take a connection or transaction so the caller decides what commits
//! together.

pub mod analytics;
pub mod api_keys;
pub mod attributions;
pub mod commissions;
pub mod partners;
pub mod registrations;
pub mod settings;
pub mod tiers;
pub mod webhooks;

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

/// A stored enum value read back, or INTERNAL naming the table.
pub(crate) fn stored<T>(table: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| Error::internal(format!("bad value {text:?} in {table}")))
}
