//! Reading one resource by id, the way every store does: in its tenant, optionally locked for
//! the rest of the transaction.

use sqlx::{AnyConnection, any::AnyRow};
use uuid::Uuid;

use crate::{Result, dialect::Dialect};

/// The resource `id` of `tenant`, decoded by `decode`; `None` when there is none. `select` is
/// `SELECT <columns> FROM <table> [alias]` and `id_column` the id's column as the select names
/// it (`id`, `o.id`), next to which the tenant column is found. With `lock`, the row stays
/// locked until the transaction ends (`FOR UPDATE`, of the alias's row alone when the id
/// column has one, on PostgreSQL; SQLite's writer holds the whole database already).
pub async fn one_by_id<T>(
    conn: &mut AnyConnection,
    select: &str,
    id_column: &str,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Option<T>> {
    let alias = id_column.strip_suffix("id").unwrap_or_default();
    // With an alias, only the resource's own row is locked, so the select may outer-join
    // rows derived from it.
    let lock = match (lock, alias.strip_suffix('.')) {
        (None, _) => String::new(),
        (Some(dialect), Some(table)) => dialect.for_update_of(table),
        (Some(dialect), None) => dialect.for_update().to_owned(),
    };
    let sql = format!("{select} WHERE {alias}tenant_id = $1 AND {id_column} = $2{lock}");
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// The resources of `tenant` whose `column` (as the select names it, `o.customer_id`) is one
/// of `ids`, in id order, decoded by `decode`: what a service re-points when customers are
/// merged. `select` and `lock` as [`one_by_id`]; locked rows are taken in id order, so two
/// writers locking overlapping sets never wait on each other in a cycle.
pub async fn all_with<T>(
    conn: &mut AnyConnection,
    select: &str,
    (column, id_column): (&str, &str),
    tenant: &str,
    ids: &[Uuid],
    lock: Option<Dialect>,
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let alias = id_column.strip_suffix("id").unwrap_or_default();
    let lock = match (lock, alias.strip_suffix('.')) {
        (None, _) => String::new(),
        (Some(dialect), Some(table)) => dialect.for_update_of(table),
        (Some(dialect), None) => dialect.for_update().to_owned(),
    };
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "{select} WHERE {alias}tenant_id = $1 AND {column} IN ({}) ORDER BY {id_column}{lock}",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(tenant);
    for id in ids {
        q = q.bind(id.to_string());
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(decode).collect()
}

/// An id read back from the database; a column that does not hold one is the service's bug.
pub fn id_column(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| crate::Error::internal(format!("bad id in database: {e}")))
}

/// A value to store as JSON text.
pub fn to_json_column<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(crate::Error::internal)
}

/// A value read back from JSON text in `table`; text that does not parse is the service's bug.
pub fn json_column<T: serde::de::DeserializeOwned>(table: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| crate::Error::internal(format!("bad JSON in {table}: {e}")))
}

/// A stored enum value read back with `parse`, or INTERNAL naming the table.
pub fn enum_column<T>(table: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| crate::Error::internal(format!("bad value {text:?} in {table}")))
}
