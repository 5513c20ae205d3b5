//! Relationship rows: one per link, read from either end.

use rapport_runtime::{Error, Result, storage::Tx};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::relationship::{Relationship, RelationshipType};

fn row_to_relationship(row: &AnyRow) -> Result<Relationship> {
    let kind: String = row.try_get("type")?;
    Ok(Relationship {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        from_id: uuid(&row.try_get::<String, _>("from_id")?)?,
        to_id: uuid(&row.try_get::<String, _>("to_id")?)?,
        kind: RelationshipType::parse(&kind)
            .ok_or_else(|| Error::internal("bad relationship type"))?,
        note: row.try_get("note")?,
        create_time: row.try_get("create_time")?,
    })
}

/// Inserts a link; `false` when the same link exists already.
pub async fn insert_relationship(tx: &mut Tx, tenant: &str, r: &Relationship) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO customer_relationships (tenant_id, id, from_id, to_id, type, note, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(r.id.to_string())
    .bind(r.from_id.to_string())
    .bind(r.to_id.to_string())
    .bind(r.kind.as_str())
    .bind(r.note.as_str())
    .bind(r.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A link by id.
pub async fn get_relationship(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Relationship>> {
    let row = sqlx::query(
        "SELECT id, from_id, to_id, type, note, create_time FROM customer_relationships \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_to_relationship).transpose()
}

/// The existing link with the same ends and type, if any.
pub async fn find_relationship(
    conn: &mut AnyConnection,
    tenant: &str,
    from: Uuid,
    to: Uuid,
    kind: RelationshipType,
) -> Result<Option<Relationship>> {
    let row = sqlx::query(
        "SELECT id, from_id, to_id, type, note, create_time FROM customer_relationships \
         WHERE tenant_id = $1 AND from_id = $2 AND to_id = $3 AND type = $4",
    )
    .bind(tenant)
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_to_relationship).transpose()
}

/// Every link of a customer, oldest first.
pub async fn list_relationships(
    conn: &mut AnyConnection,
    tenant: &str,
    customer: Uuid,
) -> Result<Vec<Relationship>> {
    let rows = sqlx::query(
        "SELECT id, from_id, to_id, type, note, create_time FROM customer_relationships \
         WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) ORDER BY create_time, id",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_relationship).collect()
}

/// Deletes a link; `false` when it was not there.
pub async fn delete_relationship(tx: &mut Tx, tenant: &str, id: Uuid) -> Result<bool> {
    let done = sqlx::query("DELETE FROM customer_relationships WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the links of `merged` to `survivor`: links between them vanish, and a link the
/// survivor already has is not doubled.
pub async fn repoint_relationships(
    tx: &mut Tx,
    tenant: &str,
    survivor: Uuid,
    merged: Uuid,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT id, from_id, to_id, type, note, create_time FROM customer_relationships \
         WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2)",
    )
    .bind(tenant)
    .bind(merged.to_string())
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let r = row_to_relationship(row)?;
        sqlx::query("DELETE FROM customer_relationships WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(r.id.to_string())
            .execute(&mut **tx)
            .await?;
        let Some(view) = r.view_from(merged) else {
            continue;
        };
        if view.related_id == survivor {
            continue;
        }
        let moved = crate::domain::relationship::NewRelationship {
            customer_id: survivor,
            related_id: view.related_id,
            kind: view.kind,
            note: view.note,
        }
        .into_relationship(r.id, r.create_time);
        insert_relationship(tx, tenant, &moved).await?;
    }
    Ok(())
}
