//! Service agents and the counters routing keeps on them. Taking and giving back places is the
//! kit's assignment engine over this table (see `COUNTERS`); this module only names the table
//! and reads and writes the agents' own fields.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    storage::{Tx, bind_all},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{from_json, to_json};
use crate::domain::queue::{Agent, AgentStatus};

const SELECT: &str = "SELECT a.id, a.display_name, a.team_id, a.supervisor_id, a.status, \
     a.skills, a.capacity, a.open_tickets, a.last_assign_time, a.assigned_total, \
     a.update_time, a.version FROM agents a";

fn row_to_agent(row: &AnyRow) -> Result<Agent> {
    let status: String = row.try_get("status")?;
    Ok(Agent {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        team_id: row.try_get("team_id")?,
        supervisor_id: row.try_get("supervisor_id")?,
        status: AgentStatus::parse(&status).unwrap_or(AgentStatus::Inactive),
        skills: from_json("agents", &row.try_get::<String, _>("skills")?)?,
        capacity: row.try_get("capacity")?,
        open_tickets: row.try_get("open_tickets")?,
        last_assign_time: row.try_get("last_assign_time")?,
        assigned_total: row.try_get("assigned_total")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// Registers an agent; `false` when the id is taken.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, a: &Agent) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO agents (tenant_id, id, display_name, team_id, supervisor_id, status, skills, \
         capacity, update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, id) DO NOTHING",
    )
    .bind(tenant)
    .bind(a.id.as_str())
    .bind(a.display_name.as_str())
    .bind(a.team_id.as_str())
    .bind(a.supervisor_id.as_str())
    .bind(a.status.as_str())
    .bind(to_json(&a.skills)?)
    .bind(a.capacity)
    .bind(a.update_time)
    .bind(a.version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rewrites an agent's own fields (not its counters) when its version is `expected`.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, a: &Agent, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE agents SET display_name = $3, team_id = $4, supervisor_id = $5, status = $6, \
         skills = $7, capacity = $8, update_time = $9, version = $10 \
         WHERE tenant_id = $1 AND id = $2 AND version = $11",
    )
    .bind(tenant)
    .bind(a.id.as_str())
    .bind(a.display_name.as_str())
    .bind(a.team_id.as_str())
    .bind(a.supervisor_id.as_str())
    .bind(a.status.as_str())
    .bind(to_json(&a.skills)?)
    .bind(a.capacity)
    .bind(a.update_time)
    .bind(a.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An agent by id.
pub(crate) async fn get(conn: &mut AnyConnection, tenant: &str, id: &str) -> Result<Option<Agent>> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.tenant_id = $1 AND a.id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(row_to_agent).transpose()
}

/// Which of `ids` are registered agents.
pub(crate) async fn known(
    conn: &mut AnyConnection,
    tenant: &str,
    ids: &[String],
) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT id FROM agents WHERE tenant_id = $1 AND id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query_scalar(&sql).bind(tenant);
    for id in ids {
        q = q.bind(id.as_str());
    }
    Ok(q.fetch_all(conn).await?)
}

/// The members of `queue` with their counters, for routing by skills.
pub(crate) async fn of_queue(
    conn: &mut AnyConnection,
    tenant: &str,
    queue: &str,
) -> Result<Vec<Agent>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE a.tenant_id = $1 AND a.id IN (SELECT m.agent_id FROM queue_members m \
         WHERE m.tenant_id = $1 AND m.queue_id = $2) ORDER BY a.id"
    ))
    .bind(tenant)
    .bind(queue)
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_agent).collect()
}

const BY_ID: OrderBy = OrderBy::asc("id");

/// A page of agents by id.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    page: &Page,
) -> Result<Vec<Agent>> {
    let s = Select::new(format!("{SELECT} WHERE a.tenant_id = $1"), 1);
    let (sql, binds) = s.fixed(page, &BY_ID, "a.id", "a.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_agent).collect()
}

/// The cursor after `a`.
pub(crate) fn cursor_of(a: &Agent) -> Vec<CursorValue> {
    vec![
        CursorValue::Text(a.id.clone()),
        CursorValue::Text(a.id.clone()),
    ]
}
