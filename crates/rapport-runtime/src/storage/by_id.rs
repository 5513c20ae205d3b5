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

/// How a store reads one of its resources by id: what [`one_by_id`] takes, named once beside
/// the resource's SELECT.
#[derive(Debug, Clone, Copy)]
pub struct ById<T> {
    /// `SELECT <columns> FROM <table> [alias]`.
    pub select: &'static str,
    /// The id's column as the select names it (`id`, `c.id`).
    pub id_column: &'static str,
    /// How a row decodes.
    pub decode: fn(&AnyRow) -> Result<T>,
}

impl<T> ById<T> {
    /// The resource `id` of `tenant`, `None` when there is none; locked for the rest of the
    /// transaction when `lock` names the dialect (see [`one_by_id`]).
    pub async fn get(
        &self,
        conn: &mut AnyConnection,
        tenant: &str,
        id: Uuid,
        lock: Option<Dialect>,
    ) -> Result<Option<T>> {
        one_by_id(
            conn,
            self.select,
            self.id_column,
            tenant,
            id,
            lock,
            self.decode,
        )
        .await
    }

    /// As [`ById::get`] outside any transaction, on a connection of `db`'s pool.
    pub async fn read(&self, db: &super::Db, tenant: &str, id: Uuid) -> Result<Option<T>> {
        let mut conn = db.pool().acquire().await?;
        self.get(&mut conn, tenant, id, None).await
    }
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
