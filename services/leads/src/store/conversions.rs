//! Conversions in progress (`lead_conversions`): which request holds a lead while its customer
//! is being created, and the customer once it exists.

use rapport_runtime::{Result, storage::bool_int};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::domain::conversion::Reservation;

/// The reservation of lead `id`, if any.
pub async fn get(conn: &mut AnyConnection, tenant: &str, id: Uuid) -> Result<Option<Reservation>> {
    let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT subject, request_id, customer, existing, reserve_time FROM lead_conversions \
         WHERE tenant_id = $1 AND lead_id = $2",
    )
    .bind(tenant)
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(subject, request_id, customer, existing, reserve_time)| Reservation {
            subject,
            request_id,
            customer,
            existing: existing != 0,
            reserve_time,
        },
    ))
}

/// Stores `r` as lead `id`'s reservation, replacing any other.
pub async fn put(conn: &mut AnyConnection, tenant: &str, id: Uuid, r: &Reservation) -> Result<()> {
    sqlx::query(
        "INSERT INTO lead_conversions \
         (tenant_id, lead_id, subject, request_id, customer, existing, reserve_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET subject = excluded.subject, \
         request_id = excluded.request_id, customer = excluded.customer, \
         existing = excluded.existing, reserve_time = excluded.reserve_time",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(&r.subject)
    .bind(&r.request_id)
    .bind(&r.customer)
    .bind(bool_int(r.existing))
    .bind(r.reserve_time)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the customer of the reservation `subject` and `request_id` hold on lead `id`; a no-op
/// when another request has taken the lead over meanwhile.
pub async fn set_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    holder: (&str, &str),
    customer: &str,
    existing: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE lead_conversions SET customer = $5, existing = $6 \
         WHERE tenant_id = $1 AND lead_id = $2 AND subject = $3 AND request_id = $4",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(holder.0)
    .bind(holder.1)
    .bind(customer)
    .bind(bool_int(existing))
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops lead `id`'s reservation (the lead is converted).
pub async fn delete(conn: &mut AnyConnection, tenant: &str, id: Uuid) -> Result<()> {
    sqlx::query("DELETE FROM lead_conversions WHERE tenant_id = $1 AND lead_id = $2")
        .bind(tenant)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
