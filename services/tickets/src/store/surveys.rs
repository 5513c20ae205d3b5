//! Satisfaction surveys: a token's hash, its ticket, its expiry, and whether it was answered.

use rapport_runtime::{Result, clock::Micros, dialect::Dialect, storage::Tx};
use sqlx::Row;
use uuid::Uuid;

use super::uuid;

/// Records a survey sent for `ticket`.
pub(crate) async fn insert(
    tx: &mut Tx,
    tenant: &str,
    token_hash: &str,
    ticket: Uuid,
    expire_time: Micros,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_surveys (tenant_id, token_hash, ticket_id, expire_time) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant)
    .bind(token_hash)
    .bind(ticket.to_string())
    .bind(expire_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A survey by its token's hash, locked: (ticket, expiry, answer time).
pub(crate) async fn lock(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    token_hash: &str,
) -> Result<Option<(Uuid, Micros, Option<Micros>)>> {
    let sql = format!(
        "SELECT ticket_id, expire_time, answer_time FROM ticket_surveys \
         WHERE tenant_id = $1 AND token_hash = $2{}",
        dialect.for_update()
    );
    let row = sqlx::query(&sql)
        .bind(tenant)
        .bind(token_hash)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| {
        Ok((
            uuid(&r.try_get::<String, _>("ticket_id")?)?,
            r.try_get("expire_time")?,
            r.try_get("answer_time")?,
        ))
    })
    .transpose()
}

/// Marks a survey answered, once: `false` when it already was.
pub(crate) async fn answer(
    tx: &mut Tx,
    tenant: &str,
    token_hash: &str,
    now: Micros,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE ticket_surveys SET answer_time = $3 WHERE tenant_id = $1 AND token_hash = $2 \
         AND answer_time IS NULL",
    )
    .bind(tenant)
    .bind(token_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
