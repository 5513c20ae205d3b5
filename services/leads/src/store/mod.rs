//! SQL of the leads service, written once for PostgreSQL and SQLite (see "Storage" in
//! `docs/architecture.md`); every query filters on the tenant. Functions take a connection or
//! transaction so the caller decides what commits together.

pub mod alerts;
pub(crate) mod analytics;
pub mod assign;
pub(crate) mod conversions;
pub(crate) mod dwell;
pub mod leads;
pub(crate) mod opportunities;
pub mod org;
pub(crate) mod pipelines;
pub mod reclaim;
pub mod settings;
pub mod tasks;
pub(crate) mod transfers;

pub(crate) use rapport_runtime::storage::id_column as uuid;

/// `$first, $first+1, …` for `n` values, comma-separated.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
