//! Deliveries, and the reminder sweep's claim on due reminders.

use rapport_kit::sweep::{Claim, claim};
use rapport_runtime::{Result, dialect::Dialect, storage::Tx};
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{from_json, to_json};
use crate::domain::delivery::Delivery;

fn row_to_delivery(row: &AnyRow) -> Result<Delivery> {
    from_json("deliveries", &row.try_get::<String, _>("doc")?)
}

/// Inserts a new delivery.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, d: &Delivery) -> Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (tenant_id, order_id, id, state, remind_time, reminded, doc, \
         create_time, version) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(d.order_id.to_string())
    .bind(d.id.to_string())
    .bind(d.state.as_str())
    .bind(d.remind_time)
    .bind(to_json(d)?)
    .bind(d.create_time)
    .bind(d.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a delivery whose stored version is `expected`; `remind_again` makes its reminder
/// due again (a new window). `false` when it moved on.
pub(crate) async fn update(
    tx: &mut Tx,
    tenant: &str,
    d: &Delivery,
    expected: i64,
    remind_again: bool,
) -> Result<bool> {
    let sql = format!(
        "UPDATE deliveries SET state = $3, remind_time = $4, doc = $5, version = $6{} \
         WHERE tenant_id = $1 AND id = $2 AND version = $7",
        if remind_again { ", reminded = 0" } else { "" }
    );
    let done = sqlx::query(&sql)
        .bind(tenant)
        .bind(d.id.to_string())
        .bind(d.state.as_str())
        .bind(d.remind_time)
        .bind(to_json(d)?)
        .bind(d.version)
        .bind(expected)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Tenants with delivery reminders due at `now` (at most `limit`).
pub(crate) async fn tenants_with_due_reminders(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM deliveries WHERE state = 'SCHEDULED' AND reminded = 0 \
         AND remind_time <= $1 ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).bind(now).fetch_all(conn).await?)
}

/// Claims up to `limit` of the tenant's due delivery reminders in `tx` (marks them reminded),
/// so each fires once however many sweeps run.
pub(crate) async fn claim_due_reminders(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<Vec<Delivery>> {
    let select = format!(
        "SELECT doc FROM deliveries WHERE tenant_id = $1 AND state = 'SCHEDULED' \
         AND reminded = 0 AND remind_time <= $2 ORDER BY remind_time, id LIMIT {limit}"
    );
    let due = Claim {
        table: "deliveries",
        flag: "reminded",
        select: &select,
    };
    claim(tx, dialect, tenant, now, &due, |row| {
        let d = row_to_delivery(row)?;
        Ok((d.id.to_string(), d))
    })
    .await
}
