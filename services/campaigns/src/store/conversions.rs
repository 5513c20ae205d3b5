//! Orders attributed to strategy runs (CA2), in the treated group or the hold-out, and the
//! figures a strategy's report is made of.

use rapport_runtime::{Result, clock::Micros, storage::Tx};
use sqlx::{AnyConnection, Row};

use crate::domain::report::Figures;

/// The run that last reached a customer (or held them out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub strategy_id: String,
    pub run_id: String,
    pub held_out: bool,
}

/// An order attributed to a touch.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub order_id: String,
    pub customer_id: String,
    pub touch: Touch,
    pub currency_code: String,
    pub amount: i64,
    pub order_time: Micros,
}

/// The latest run that reached `customer` (a message sent) or held them out, between `since`
/// and `until`.
pub(crate) async fn last_touch(
    tx: &mut Tx,
    tenant: &str,
    customer: &str,
    since: Micros,
    until: Micros,
) -> Result<Option<Touch>> {
    let row = sqlx::query(
        "SELECT strategy_id, run_id, state FROM recipients \
         WHERE tenant_id = $1 AND customer_id = $2 AND state IN ('sent', 'control') \
         AND sent_time >= $3 AND sent_time <= $4 ORDER BY sent_time DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(customer)
    .bind(since)
    .bind(until)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        Ok(Touch {
            strategy_id: r.try_get("strategy_id")?,
            run_id: r.try_get("run_id")?,
            held_out: r.try_get::<String, _>("state")? == "control",
        })
    })
    .transpose()
}

/// Records `c`; an order already attributed keeps its first attribution.
pub(crate) async fn record(tx: &mut Tx, tenant: &str, c: &Conversion) -> Result<()> {
    sqlx::query(
        "INSERT INTO strategy_conversions (tenant_id, order_id, customer_id, strategy_id, \
         run_id, held_out, currency_code, amount, order_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, order_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(c.order_id.as_str())
    .bind(c.customer_id.as_str())
    .bind(c.touch.strategy_id.as_str())
    .bind(c.touch.run_id.as_str())
    .bind(i32::from(c.touch.held_out))
    .bind(c.currency_code.as_str())
    .bind(c.amount)
    .bind(c.order_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Withdraws the attribution of a cancelled order.
pub(crate) async fn withdraw(tx: &mut Tx, tenant: &str, order: &str) -> Result<()> {
    sqlx::query("DELETE FROM strategy_conversions WHERE tenant_id = $1 AND order_id = $2")
        .bind(tenant)
        .bind(order)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The figures of strategy `strategy`. The treated group is every member the strategy meant
/// to reach (intent to treat: those later capped, resting or failed count too), so it
/// compares fairly with a hold-out drawn from the same members; members it could never reach
/// (no consent, no address) are in neither.
pub(crate) async fn figures(
    conn: &mut AnyConnection,
    tenant: &str,
    strategy: &str,
    currency: &str,
) -> Result<Figures> {
    let members = sqlx::query(
        "SELECT \
           COUNT(DISTINCT CASE WHEN state = 'control' THEN customer_id END) AS control, \
           COUNT(DISTINCT CASE WHEN state <> 'control' AND reason NOT IN \
             ('OPTED_OUT', 'NO_CONSENT', 'DO_NOT_DISTURB', 'NO_ADDRESS', 'NOT_ALLOWED') \
             THEN customer_id END) AS treated, \
           COUNT(DISTINCT CASE WHEN state = 'sent' THEN customer_id END) AS reached \
         FROM recipients WHERE tenant_id = $1 AND strategy_id = $2",
    )
    .bind(tenant)
    .bind(strategy)
    .fetch_one(&mut *conn)
    .await?;
    let converted = sqlx::query(
        "SELECT \
           COUNT(DISTINCT CASE WHEN held_out = 1 THEN customer_id END) AS control, \
           COUNT(DISTINCT CASE WHEN held_out = 0 THEN customer_id END) AS treated, \
           COUNT(CASE WHEN held_out = 0 THEN 1 END) AS orders, \
           CAST(COALESCE(SUM(CASE WHEN held_out = 0 AND currency_code = $3 THEN amount END), 0) \
             AS BIGINT) AS revenue \
         FROM strategy_conversions WHERE tenant_id = $1 AND strategy_id = $2",
    )
    .bind(tenant)
    .bind(strategy)
    .bind(currency)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Figures {
        cost: 0,
        treated: members.try_get("treated")?,
        control: members.try_get("control")?,
        reached: members.try_get("reached")?,
        treated_converted: converted.try_get("treated")?,
        control_converted: converted.try_get("control")?,
        orders: converted.try_get("orders")?,
        revenue: converted.try_get("revenue")?,
    })
}
