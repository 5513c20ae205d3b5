//! The recipients of runs: queued page by page as the audience is read, claimed by the send
//! worker, settled by what the channel answered; and each customer's contact state.

use rapport_runtime::{
    Result,
    clock::Micros,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

use crate::domain::{channel::Channel, run::Delivery};

/// A recipient as the run's preparation writes it.
#[derive(Debug, Clone)]
pub struct NewRecipient {
    pub customer_id: String,
    pub delivery: Delivery,
    pub reason: String,
    pub address: String,
    pub vars: String,
    pub due_time: Micros,
}

/// Inserts `rows` for run `run` of strategy `strategy`; a row already there (a page read again
/// after a crash) is kept as it is.
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: &str,
    run: &str,
    strategy: &str,
    channel: Channel,
    transactional: bool,
    rows: &[NewRecipient],
) -> Result<()> {
    // Seven binds a row; PostgreSQL allows 65,535 a statement.
    for chunk in rows.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO recipients (tenant_id, run_id, strategy_id, channel, transactional, \
             customer_id, state, reason, address, vars, due_time, sent_time) VALUES ",
        );
        let mut binds = Vec::with_capacity(chunk.len() * 7);
        for (i, r) in chunk.iter().enumerate() {
            let b = 6 + i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, $2, $3, $4, $5, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b,
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
            binds.push(BindValue::Text(r.customer_id.clone()));
            binds.push(BindValue::Text(r.delivery.as_str().into()));
            binds.push(BindValue::Text(r.reason.clone()));
            binds.push(BindValue::Text(r.address.clone()));
            binds.push(BindValue::Text(r.vars.clone()));
            binds.push(BindValue::Int(r.due_time));
            // A held-out member counts as reached, for attribution, when a message would have
            // gone.
            binds.push(BindValue::OptInt(
                (r.delivery == Delivery::Control).then_some(r.due_time),
            ));
        }
        sql.push_str(" ON CONFLICT (tenant_id, run_id, customer_id) DO NOTHING");
        bind_all(
            sqlx::query(&sql)
                .bind(tenant)
                .bind(run)
                .bind(strategy)
                .bind(channel.as_str())
                .bind(i32::from(transactional)),
            &binds,
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A recipient claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub run_id: String,
    pub customer_id: String,
    pub strategy_id: String,
    pub channel: Channel,
    pub transactional: bool,
    pub address: String,
    pub vars: String,
    pub attempts: i32,
    /// Set when the message was handed to the channel before (a crash since): reused.
    pub message_id: String,
}

fn row_to_claimed(row: &AnyRow) -> Result<Claimed> {
    Ok(Claimed {
        run_id: row.try_get("run_id")?,
        customer_id: row.try_get("customer_id")?,
        strategy_id: row.try_get("strategy_id")?,
        channel: super::stored(
            "recipients",
            &row.try_get::<String, _>("channel")?,
            Channel::parse,
        )?,
        transactional: row.try_get::<i32, _>("transactional")? != 0,
        address: row.try_get("address")?,
        vars: row.try_get("vars")?,
        attempts: row.try_get("attempts")?,
        message_id: row.try_get("message_id")?,
    })
}

/// Tenants with recipients due at `now`: queued ones whose time has come, and ones handed to
/// a channel before `stalled` whose outcome was never recorded.
pub(crate) async fn due_tenants(
    conn: &mut AnyConnection,
    now: Micros,
    stalled: Micros,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM recipients \
         WHERE (state = 'queued' AND due_time <= $1) OR (state = 'sending' AND due_time <= $2) \
         LIMIT 100",
    )
    .bind(now)
    .bind(stalled)
    .fetch_all(conn)
    .await?)
}

/// Up to `limit` of `tenant`'s recipients on `channel` due at `now` (or stalled in sending
/// since before `stalled`), locked, skipping those another replica holds.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn claim(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    channel: Channel,
    now: Micros,
    stalled: Micros,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let sql = format!(
        "SELECT run_id, customer_id, strategy_id, channel, transactional, address, vars, \
         attempts, message_id FROM recipients \
         WHERE tenant_id = $1 AND channel = $2 \
         AND ((state = 'queued' AND due_time <= $3) OR (state = 'sending' AND due_time <= $4)) \
         ORDER BY due_time LIMIT $5{}",
        dialect.for_update_skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(channel.as_str())
        .bind(now)
        .bind(stalled)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_claimed).collect()
}

/// Marks a claimed recipient as handed to its channel under `message_id` at `now`; `lease`
/// is when it counts as stalled if no outcome is recorded by then.
pub(crate) async fn mark_sending(
    tx: &mut Tx,
    tenant: &str,
    c: &Claimed,
    message_id: &str,
    now: Micros,
    lease: Micros,
) -> Result<()> {
    sqlx::query(
        "UPDATE recipients SET state = 'sending', message_id = $4, sent_time = $5, \
         due_time = $6 WHERE tenant_id = $1 AND run_id = $2 AND customer_id = $3",
    )
    .bind(tenant)
    .bind(c.run_id.as_str())
    .bind(c.customer_id.as_str())
    .bind(message_id)
    .bind(now)
    .bind(lease)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Settles a recipient: `state` with `reason`; a retry is `queued` again at `due_time`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn settle(
    tx: &mut Tx,
    tenant: &str,
    run: &str,
    customer: &str,
    state: Delivery,
    reason: &str,
    due_time: Micros,
    attempts: i32,
) -> Result<()> {
    sqlx::query(
        "UPDATE recipients SET state = $4, reason = $5, due_time = $6, attempts = $7 \
         WHERE tenant_id = $1 AND run_id = $2 AND customer_id = $3",
    )
    .bind(tenant)
    .bind(run)
    .bind(customer)
    .bind(state.as_str())
    .bind(reason)
    .bind(due_time)
    .bind(attempts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// When the marketing messages on `channel` that reached `customer` after `since` went
/// (handed to the channel or delivered).
pub(crate) async fn recent(
    tx: &mut Tx,
    tenant: &str,
    customer: &str,
    channel: Channel,
    since: Micros,
) -> Result<Vec<Micros>> {
    Ok(sqlx::query_scalar(
        "SELECT sent_time FROM recipients WHERE tenant_id = $1 AND customer_id = $2 \
         AND channel = $3 AND transactional = 0 AND state IN ('sending', 'sent') \
         AND sent_time > $4",
    )
    .bind(tenant)
    .bind(customer)
    .bind(channel.as_str())
    .bind(since)
    .fetch_all(&mut **tx)
    .await?)
}

/// Locks `customer`'s contact state (made on first use): (unanswered, last marketing time).
/// Every send to a customer takes this lock first, so caps hold across replicas.
pub(crate) async fn lock_contact(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    customer: &str,
) -> Result<(i32, Option<Micros>)> {
    sqlx::query(
        "INSERT INTO contact_state (tenant_id, customer_id) VALUES ($1, $2) \
         ON CONFLICT (tenant_id, customer_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT unanswered, last_marketing FROM contact_state \
         WHERE tenant_id = $1 AND customer_id = $2{}",
        dialect.for_update()
    ))
    .bind(tenant)
    .bind(customer)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("unanswered")?, row.try_get("last_marketing")?))
}

/// Counts a marketing message to `customer` at `now`.
pub(crate) async fn touch(tx: &mut Tx, tenant: &str, customer: &str, now: Micros) -> Result<()> {
    sqlx::query(
        "UPDATE contact_state SET unanswered = unanswered + 1, last_marketing = $3 \
         WHERE tenant_id = $1 AND customer_id = $2",
    )
    .bind(tenant)
    .bind(customer)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `customer` answered (an order): they no longer rest.
pub(crate) async fn answered(tx: &mut Tx, tenant: &str, customer: &str) -> Result<()> {
    sqlx::query(
        "UPDATE contact_state SET unanswered = 0 WHERE tenant_id = $1 AND customer_id = $2",
    )
    .bind(tenant)
    .bind(customer)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Runs in SENDING with nothing left to send.
pub(crate) async fn finished_runs(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT r.tenant_id, r.id, r.strategy_id FROM strategy_runs r WHERE r.state = 'sending' \
         AND NOT EXISTS (SELECT 1 FROM recipients x WHERE x.tenant_id = r.tenant_id \
         AND x.run_id = r.id AND x.state IN ('queued', 'sending')) LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("tenant_id")?,
                r.try_get("id")?,
                r.try_get("strategy_id")?,
            ))
        })
        .collect()
}
