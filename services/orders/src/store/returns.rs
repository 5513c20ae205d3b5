//! Returns and exchanges of orders.

use rapport_runtime::{Result, storage::Tx};

use super::to_json;
use crate::domain::returns::Return;

/// Inserts a new return.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, r: &Return) -> Result<()> {
    sqlx::query(
        "INSERT INTO returns (tenant_id, order_id, id, state, doc, create_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tenant)
    .bind(r.order_id.to_string())
    .bind(r.id.to_string())
    .bind(r.state.as_str())
    .bind(to_json(r)?)
    .bind(r.create_time)
    .bind(r.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a return whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, r: &Return, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE returns SET state = $3, doc = $4, version = $5 \
         WHERE tenant_id = $1 AND id = $2 AND version = $6",
    )
    .bind(tenant)
    .bind(r.id.to_string())
    .bind(r.state.as_str())
    .bind(to_json(r)?)
    .bind(r.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The returns of an order, oldest first (an order has a handful).
pub(crate) async fn of_order(tx: &mut Tx, tenant: &str, order: uuid::Uuid) -> Result<Vec<Return>> {
    let docs: Vec<String> = sqlx::query_scalar(
        "SELECT doc FROM returns WHERE tenant_id = $1 AND order_id = $2 ORDER BY create_time, id",
    )
    .bind(tenant)
    .bind(order.to_string())
    .fetch_all(&mut **tx)
    .await?;
    docs.iter()
        .map(|d| super::from_json("returns", d))
        .collect()
}
