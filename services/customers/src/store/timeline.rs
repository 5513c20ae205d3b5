//! Activities (the timeline) and ownership transfers (the hand-over history).

use rapport_kit::query::{CursorValue, OrderBy, keyset_after, order_sql};
use rapport_runtime::{Error, Result, storage::Tx, storage::bind_all};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::{
    activity::{Activity, ActivityKind},
    transfer::OwnershipTransfer,
};

const NEWEST_FIRST: OrderBy = OrderBy::desc("time");

/// Records an activity.
pub async fn insert_activity(tx: &mut Tx, tenant: &str, a: &Activity) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_activities (tenant_id, id, customer_id, kind, author, occur_time, content, \
         details, next_follow_up_time, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant)
    .bind(a.id.to_string())
    .bind(a.customer_id.to_string())
    .bind(a.kind.as_str())
    .bind(a.author.as_str())
    .bind(a.occur_time)
    .bind(a.content.as_str())
    .bind(serde_json::to_string(&a.details).map_err(Error::internal)?)
    .bind(a.next_follow_up_time)
    .bind(a.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn row_to_activity(row: &AnyRow) -> Result<Activity> {
    let kind: String = row.try_get("kind")?;
    let details: String = row.try_get("details")?;
    Ok(Activity {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        customer_id: uuid(&row.try_get::<String, _>("customer_id")?)?,
        kind: ActivityKind::parse(&kind).ok_or_else(|| Error::internal("bad activity kind"))?,
        author: row.try_get("author")?,
        occur_time: row.try_get("occur_time")?,
        content: row.try_get("content")?,
        details: serde_json::from_str(&details).map_err(Error::internal)?,
        next_follow_up_time: row.try_get("next_follow_up_time")?,
        create_time: row.try_get("create_time")?,
    })
}

/// A page of a customer's timeline, newest first, after `cursor` ([occur_time, id]).
pub async fn list_activities(
    conn: &mut AnyConnection,
    tenant: &str,
    customer: Uuid,
    cursor: &[CursorValue],
    limit: u32,
) -> Result<Vec<Activity>> {
    let page = SubPage {
        tenant,
        customer,
        cursor,
        limit,
    };
    let columns = "id, customer_id, kind, author, occur_time, content, details, next_follow_up_time, create_time";
    newest_first(
        conn,
        columns,
        "customer_activities",
        "occur_time",
        page,
        row_to_activity,
    )
    .await
}

/// Which page of one customer's rows to read.
struct SubPage<'a> {
    tenant: &'a str,
    customer: Uuid,
    cursor: &'a [CursorValue],
    limit: u32,
}

/// A page of one customer's rows of `table`, newest `time_column` first (ties by id).
async fn newest_first<T>(
    conn: &mut AnyConnection,
    columns: &str,
    table: &str,
    time_column: &str,
    page: SubPage<'_>,
    map: fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut sql =
        format!("SELECT {columns} FROM {table} WHERE tenant_id = $1 AND customer_id = $2");
    let after = page_after(page.cursor, time_column, &mut sql)?;
    sql.push_str(&format!(
        " ORDER BY {} LIMIT {}",
        order_sql(&NEWEST_FIRST, time_column, "id"),
        page.limit
    ));
    let q = bind_all(
        sqlx::query(&sql)
            .bind(page.tenant)
            .bind(page.customer.to_string()),
        &after,
    );
    q.fetch_all(conn).await?.iter().map(map).collect()
}

fn page_after(
    cursor: &[CursorValue],
    column: &str,
    sql: &mut String,
) -> Result<Vec<rapport_runtime::storage::BindValue>> {
    if cursor.is_empty() {
        return Ok(Vec::new());
    }
    let f = keyset_after(&NEWEST_FIRST, column, "id", cursor, 3)
        .map_err(|v| Error::InvalidArgument(vec![v]))?;
    sql.push_str(&format!(" AND {}", f.sql));
    Ok(f.binds)
}

/// Records a transfer.
pub async fn insert_transfer(tx: &mut Tx, tenant: &str, t: &OwnershipTransfer) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_ownership_transfers (tenant_id, id, customer_id, from_owner_id, to_owner_id, \
         from_team_id, to_team_id, from_store_id, to_store_id, reason, actor, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.customer_id.to_string())
    .bind(t.from_owner_id.as_str())
    .bind(t.to_owner_id.as_str())
    .bind(t.from_team_id.as_str())
    .bind(t.to_team_id.as_str())
    .bind(t.from_store_id.as_str())
    .bind(t.to_store_id.as_str())
    .bind(t.reason.as_str())
    .bind(t.actor.as_str())
    .bind(t.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn row_to_transfer(row: &AnyRow) -> Result<OwnershipTransfer> {
    Ok(OwnershipTransfer {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        customer_id: uuid(&row.try_get::<String, _>("customer_id")?)?,
        from_owner_id: row.try_get("from_owner_id")?,
        to_owner_id: row.try_get("to_owner_id")?,
        from_team_id: row.try_get("from_team_id")?,
        to_team_id: row.try_get("to_team_id")?,
        from_store_id: row.try_get("from_store_id")?,
        to_store_id: row.try_get("to_store_id")?,
        reason: row.try_get("reason")?,
        actor: row.try_get("actor")?,
        create_time: row.try_get("create_time")?,
    })
}

/// A page of a customer's ownership history, newest first, after `cursor` ([create_time, id]).
pub async fn list_transfers(
    conn: &mut AnyConnection,
    tenant: &str,
    customer: Uuid,
    cursor: &[CursorValue],
    limit: u32,
) -> Result<Vec<OwnershipTransfer>> {
    let page = SubPage {
        tenant,
        customer,
        cursor,
        limit,
    };
    let columns = "id, customer_id, from_owner_id, to_owner_id, from_team_id, to_team_id, from_store_id, to_store_id, \
                   reason, actor, create_time";
    newest_first(
        conn,
        columns,
        "customer_ownership_transfers",
        "create_time",
        page,
        row_to_transfer,
    )
    .await
}

/// Moves the timeline and ownership history of `merged` to `survivor`.
pub async fn repoint_timeline(
    tx: &mut Tx,
    tenant: &str,
    survivor: Uuid,
    merged: Uuid,
) -> Result<()> {
    for table in ["customer_activities", "customer_ownership_transfers"] {
        sqlx::query(&format!(
            "UPDATE {table} SET customer_id = $1 WHERE tenant_id = $2 AND customer_id = $3"
        ))
        .bind(survivor.to_string())
        .bind(tenant)
        .bind(merged.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
