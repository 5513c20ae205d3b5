//! What deliveries and returns share: documents that belong to an order, kept as JSON in a
//! table of `(tenant_id, order_id, id, state, doc, create_time, version, …)`, read by id under
//! their order and listed oldest first.

use rapport_kit::query::{OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, bind_all},
};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::{from_json, to_json};
use crate::domain::{delivery::Delivery, returns::Return};

/// A document kept under an order in its own table.
pub(crate) trait Child: Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: &'static str;
    /// `orders/{order}/<collection>/{id}` of `id` under `order`.
    fn name_of(order: Uuid, id: Uuid) -> String;
    /// Its stored version.
    fn version(&self) -> i64;
}

impl Child for Delivery {
    const TABLE: &'static str = "deliveries";
    fn name_of(order: Uuid, id: Uuid) -> String {
        crate::domain::delivery::delivery_name(order, id)
    }
    fn version(&self) -> i64 {
        self.version
    }
}

impl Child for Return {
    const TABLE: &'static str = "returns";
    fn name_of(order: Uuid, id: Uuid) -> String {
        crate::domain::returns::return_name(order, id)
    }
    fn version(&self) -> i64 {
        self.version
    }
}

/// The order in which an order's documents are listed.
pub(crate) const OLDEST_FIRST: OrderBy = OrderBy::asc("create_time");

/// A document under `order` by id, locked for the rest of the transaction when `lock` names
/// the dialect.
pub(crate) async fn get<T: Child>(
    conn: &mut AnyConnection,
    (tenant, order, id): (&str, Uuid, Uuid),
    lock: Option<Dialect>,
) -> Result<Option<T>> {
    let table = T::TABLE;
    let sql = format!(
        "SELECT doc FROM {table} WHERE tenant_id = $1 AND order_id = $2 AND id = $3{}",
        lock.map(Dialect::for_update).unwrap_or_default()
    );
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(order.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| from_json(table, &r.try_get::<String, _>("doc")?))
        .transpose()
}

/// A page of `order`'s documents, oldest first.
pub(crate) async fn list<T: Child>(
    conn: &mut AnyConnection,
    (tenant, order): (&str, Uuid),
    page: &Page,
) -> Result<Vec<T>> {
    let table = T::TABLE;
    let s = Select::new(
        format!("SELECT doc FROM {table} WHERE tenant_id = $1 AND order_id = $2"),
        2,
    );
    let (sql, binds) = s.fixed(page, &OLDEST_FIRST, "create_time", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(order.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| from_json(table, &r.try_get::<String, _>("doc")?))
        .collect()
}

/// Rewrites a document as it is, leaving its version (and etag) alone: for what the service
/// records beside a caller's changes.
pub(crate) async fn set_doc<T: Child>(
    tx: &mut Tx,
    (tenant, id): (&str, Uuid),
    doc: &T,
) -> Result<()> {
    let sql = format!(
        "UPDATE {} SET doc = $3 WHERE tenant_id = $1 AND id = $2",
        T::TABLE
    );
    sqlx::query(&sql)
        .bind(tenant)
        .bind(id.to_string())
        .bind(to_json(doc)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
