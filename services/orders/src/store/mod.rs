//! SQL of the orders service, written once for PostgreSQL and SQLite (see "Storage" in
//! `docs/architecture.md`); every query filters on the tenant. Functions take a connection or
//! transaction so the caller decides what commits together.

pub mod analytics;
pub mod catalog;
pub(crate) mod children;
pub mod deliveries;
pub mod orders;
pub mod returns;
pub mod settings;

pub(crate) use rapport_runtime::storage::{from_json, id_column as uuid, to_json};

/// The VALUES rows of a multi-row insert whose first column is the tenant (`$1`): for `rows`
/// rows, `($1, $a, $a+1, …)` with `width` more placeholders each, numbered from `first`.
pub(crate) fn value_rows(first: usize, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let start = first + r * width;
            let cells: Vec<String> = (start..start + width).map(|i| format!("${i}")).collect();
            format!("($1, {})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
