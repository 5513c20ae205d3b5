//! The value of customers (CU12): the ledger of their orders, and the figures worked out from
//! it that customers are read, filtered and sorted with.

use rapport_runtime::{Result, clock::Micros, dialect::Dialect, storage::Tx};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::value::{CustomerValue, Grade, Group, LedgerEntry, rfm::Scores};

/// Joins each customer `c` to its figures `v`, which it may not have.
pub const VALUE_JOIN: &str =
    "LEFT JOIN customer_values v ON v.tenant_id = c.tenant_id AND v.customer_id = c.id";

/// The figures' columns as a customer select reads them (see [`value_of_row`]).
pub const VALUE_COLUMNS: &str = "v.order_count AS value_order_count, \
     v.currency_code AS value_currency_code, v.total_spent AS value_total_spent, \
     v.average_order_value AS value_average_order_value, \
     v.last_order_time AS value_last_order_time, \
     v.profit_contribution AS value_profit_contribution, \
     v.recency_score AS value_recency_score, v.frequency_score AS value_frequency_score, \
     v.monetary_score AS value_monetary_score, v.grade AS value_grade, \
     v.value_group AS value_group, v.compute_time AS value_compute_time, \
     v.review_time AS value_review_time";

/// The figures of a row selected with [`VALUE_COLUMNS`]; `None` when the customer has none.
pub fn value_of_row(row: &AnyRow) -> Result<Option<CustomerValue>> {
    let Some(order_count) = row.try_get::<Option<i64>, _>("value_order_count")? else {
        return Ok(None);
    };
    let grade: String = row.try_get("value_grade")?;
    let group: String = row.try_get("value_group")?;
    let score = |column: &str| -> Result<i32> {
        Ok(i32::try_from(row.try_get::<i64, _>(column)?).unwrap_or_default())
    };
    Ok(Some(CustomerValue {
        order_count,
        currency_code: row.try_get("value_currency_code")?,
        total_spent: row.try_get("value_total_spent")?,
        average_order_value: row.try_get("value_average_order_value")?,
        last_order_time: row.try_get("value_last_order_time")?,
        profit_contribution: row.try_get("value_profit_contribution")?,
        scores: Scores {
            recency: score("value_recency_score")?,
            frequency: score("value_frequency_score")?,
            monetary: score("value_monetary_score")?,
        },
        grade: Grade::parse(&grade).ok_or_else(|| bad("grade", &grade))?,
        group: Group::parse(&group).ok_or_else(|| bad("group", &group))?,
        compute_time: row.try_get("value_compute_time")?,
        review_time: row.try_get("value_review_time")?,
    }))
}

fn bad(what: &str, value: &str) -> rapport_runtime::Error {
    rapport_runtime::Error::internal(format!("bad value {what} in database: {value:?}"))
}

/// The customer of `tenant` an order of customer `id` counts for, locked for the rest of the
/// transaction, so the orders of one customer are judged one at a time: `id` itself, or the
/// survivor it was merged into. `None` when the tenant has no such customer.
pub async fn lock_value_holder(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Uuid>> {
    let sql = format!(
        "SELECT merged_into FROM customers WHERE tenant_id = $1 AND id = $2{}",
        dialect.for_update()
    );
    let mut id = id;
    // Merges chain (a survivor may be merged later); a few hops always reach the end.
    for _ in 0..MAX_MERGE_HOPS {
        let row: Option<(Option<String>,)> = sqlx::query_as(&sql)
            .bind(tenant)
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            None => return Ok(None),
            Some((None,)) => return Ok(Some(id)),
            Some((Some(survivor),)) => id = uuid(&survivor)?,
        }
    }
    Ok(Some(id))
}

/// Survivors followed from a merged customer before the last one reached is taken.
const MAX_MERGE_HOPS: usize = 16;

/// Writes `entry` into the ledger unless it holds the same or a newer revision of the order;
/// whether it did.
pub async fn record_order(tx: &mut Tx, tenant: &str, entry: &LedgerEntry) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO customer_orders (tenant_id, order_id, customer_id, revision, counted, \
         currency_code, net_total, profit, confirm_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, order_id) DO UPDATE SET customer_id = excluded.customer_id, \
         revision = excluded.revision, counted = excluded.counted, \
         currency_code = excluded.currency_code, net_total = excluded.net_total, \
         profit = excluded.profit, confirm_time = excluded.confirm_time \
         WHERE customer_orders.revision < excluded.revision",
    )
    .bind(tenant)
    .bind(entry.order_id.to_string())
    .bind(entry.customer_id.to_string())
    .bind(entry.revision)
    .bind(i64::from(entry.counted))
    .bind(entry.currency_code.as_str())
    .bind(entry.net_total)
    .bind(entry.profit)
    .bind(entry.confirm_time)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The orders of `customer` that count.
pub async fn counted_orders(
    conn: &mut AnyConnection,
    tenant: &str,
    customer: Uuid,
) -> Result<Vec<LedgerEntry>> {
    let rows: Vec<(String, i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT order_id, revision, currency_code, net_total, profit, confirm_time \
         FROM customer_orders WHERE tenant_id = $1 AND customer_id = $2 AND counted = 1",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(
            |(order, revision, currency_code, net_total, profit, confirm_time)| {
                Ok(LedgerEntry {
                    order_id: uuid(&order)?,
                    customer_id: customer,
                    revision,
                    counted: true,
                    currency_code,
                    net_total,
                    profit,
                    confirm_time,
                })
            },
        )
        .collect()
}

/// Stores the figures of `customer`, or drops them when it has none.
pub async fn save_value(
    tx: &mut Tx,
    tenant: &str,
    customer: Uuid,
    value: Option<&CustomerValue>,
) -> Result<()> {
    let Some(v) = value else {
        sqlx::query("DELETE FROM customer_values WHERE tenant_id = $1 AND customer_id = $2")
            .bind(tenant)
            .bind(customer.to_string())
            .execute(&mut **tx)
            .await?;
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO customer_values (tenant_id, customer_id, order_count, currency_code, \
         total_spent, average_order_value, last_order_time, profit_contribution, recency_score, \
         frequency_score, monetary_score, grade, value_group, compute_time, review_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET order_count = excluded.order_count, \
         currency_code = excluded.currency_code, total_spent = excluded.total_spent, \
         average_order_value = excluded.average_order_value, \
         last_order_time = excluded.last_order_time, \
         profit_contribution = excluded.profit_contribution, \
         recency_score = excluded.recency_score, frequency_score = excluded.frequency_score, \
         monetary_score = excluded.monetary_score, grade = excluded.grade, \
         value_group = excluded.value_group, compute_time = excluded.compute_time, \
         review_time = excluded.review_time",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .bind(v.order_count)
    .bind(v.currency_code.as_str())
    .bind(v.total_spent)
    .bind(v.average_order_value)
    .bind(v.last_order_time)
    .bind(v.profit_contribution)
    .bind(i64::from(v.scores.recency))
    .bind(i64::from(v.scores.frequency))
    .bind(i64::from(v.scores.monetary))
    .bind(v.grade.as_str())
    .bind(v.group.as_str())
    .bind(v.compute_time)
    .bind(v.review_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tenants with customers whose figures are due to be worked out again at `now`, a round's
/// worth.
pub async fn tenants_due(conn: &mut AnyConnection, now: Micros, limit: u32) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM customer_values WHERE review_time <= $1 \
         ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).bind(now).fetch_all(conn).await?)
}

/// Up to `limit` customers of `tenant` whose figures are due at `now`, their rows locked and
/// those another sweep holds skipped.
pub async fn lock_due(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: Micros,
    limit: u32,
) -> Result<Vec<Uuid>> {
    let sql = format!(
        "SELECT customer_id FROM customer_values WHERE tenant_id = $1 AND review_time <= $2 \
         ORDER BY review_time, customer_id LIMIT {limit}{}",
        dialect.for_update_skip_locked()
    );
    let ids: Vec<String> = sqlx::query_scalar(&sql)
        .bind(tenant)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    ids.iter().map(|id| uuid(id)).collect()
}

/// Makes the figures of every customer of `tenant` due at `now` (the rules changed).
pub async fn review_all(tx: &mut Tx, tenant: &str, now: Micros) -> Result<()> {
    sqlx::query("UPDATE customer_values SET review_time = $2 WHERE tenant_id = $1")
        .bind(tenant)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves the orders of `merged` to `survivor`'s ledger.
pub async fn repoint_orders(tx: &mut Tx, tenant: &str, survivor: Uuid, merged: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE customer_orders SET customer_id = $2 WHERE tenant_id = $1 AND customer_id = $3",
    )
    .bind(tenant)
    .bind(survivor.to_string())
    .bind(merged.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
