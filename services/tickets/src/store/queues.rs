//! Queues and who works them.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::{from_json, to_json, uuid};
use crate::domain::queue::{Queue, Strategy};

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    strategy: Strategy,
    members: Vec<String>,
    skills_by_type: BTreeMap<String, Vec<String>>,
}

const SELECT: &str = "SELECT q.id, q.display_name, q.team_id, q.doc, q.create_time, \
     q.update_time, q.version FROM queues q";

fn row_to_queue(row: &AnyRow) -> Result<Queue> {
    let doc: Doc = from_json("queues", &row.try_get::<String, _>("doc")?)?;
    Ok(Queue {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        strategy: doc.strategy,
        members: doc.members,
        team_id: row.try_get("team_id")?,
        skills_by_type: doc.skills_by_type,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(q: &Queue) -> Result<String> {
    to_json(&Doc {
        strategy: q.strategy,
        members: q.members.clone(),
        skills_by_type: q.skills_by_type.clone(),
    })
}

/// Replaces the queue's members.
async fn set_members(tx: &mut Tx, tenant: &str, q: &Queue) -> Result<()> {
    sqlx::query("DELETE FROM queue_members WHERE tenant_id = $1 AND queue_id = $2")
        .bind(tenant)
        .bind(q.id.to_string())
        .execute(&mut **tx)
        .await?;
    for m in &q.members {
        sqlx::query(
            "INSERT INTO queue_members (tenant_id, queue_id, agent_id) VALUES ($1, $2, $3)",
        )
        .bind(tenant)
        .bind(q.id.to_string())
        .bind(m.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Inserts a queue with its members.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, q: &Queue) -> Result<()> {
    sqlx::query(
        "INSERT INTO queues (tenant_id, id, display_name, team_id, doc, create_time, \
         update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(q.id.to_string())
    .bind(q.display_name.as_str())
    .bind(q.team_id.as_str())
    .bind(doc(q)?)
    .bind(q.create_time)
    .bind(q.update_time)
    .bind(q.version)
    .execute(&mut **tx)
    .await?;
    set_members(tx, tenant, q).await
}

/// Rewrites a queue whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, q: &Queue, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE queues SET display_name = $3, team_id = $4, doc = $5, update_time = $6, \
         version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8",
    )
    .bind(tenant)
    .bind(q.id.to_string())
    .bind(q.display_name.as_str())
    .bind(q.team_id.as_str())
    .bind(doc(q)?)
    .bind(q.update_time)
    .bind(q.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    set_members(tx, tenant, q).await?;
    Ok(true)
}

/// A queue by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Queue>> {
    one_by_id(conn, SELECT, "q.id", tenant, id, lock, row_to_queue).await
}

const BY_NAME: OrderBy = OrderBy::asc("display_name");

/// A page of queues by name.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    page: &Page,
) -> Result<Vec<Queue>> {
    let s = Select::new(format!("{SELECT} WHERE q.tenant_id = $1"), 1);
    let (sql, binds) = s.fixed(page, &BY_NAME, "q.display_name", "q.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_queue).collect()
}

/// The cursor after `q`.
pub(crate) fn cursor_of(q: &Queue) -> Vec<CursorValue> {
    vec![
        CursorValue::Text(q.display_name.clone()),
        CursorValue::Text(q.id.to_string()),
    ]
}

/// Whether `queue` exists.
pub(crate) async fn exists(conn: &mut AnyConnection, tenant: &str, queue: &str) -> Result<bool> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM queues WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(queue)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Whether `agent` works `queue`.
pub(crate) async fn is_member(
    conn: &mut AnyConnection,
    tenant: &str,
    queue: &str,
    agent: &str,
) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM queue_members WHERE tenant_id = $1 AND queue_id = $2 AND agent_id = $3",
    )
    .bind(tenant)
    .bind(queue)
    .bind(agent)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
