//! A ticket's comments and its history of events.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    clock::Micros,
    storage::{Statement, Tx, bind_all},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json, uuid};

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    #[serde(skip)]
    pub id: Uuid,
    #[serde(skip)]
    pub ticket_id: Uuid,
    pub body: String,
    pub public: bool,
    pub from_customer: bool,
    pub attachment_urls: Vec<String>,
    pub author_id: String,
    #[serde(skip)]
    pub moved_from: String,
    #[serde(skip)]
    pub create_time: Micros,
}

/// One entry of a ticket's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub kind: String,
    pub actor_id: String,
    pub detail: String,
    pub rule: String,
    pub create_time: Micros,
}

/// Inserts a comment.
pub(crate) async fn insert_comment(tx: &mut Tx, tenant: &str, c: &Comment) -> Result<()> {
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, ticket_id, id, doc, moved_from, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant)
    .bind(c.ticket_id.to_string())
    .bind(c.id.to_string())
    .bind(to_json(c)?)
    .bind(c.moved_from.as_str())
    .bind(c.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn row_to_comment(row: &AnyRow) -> Result<Comment> {
    let mut c: Comment = from_json("ticket_comments", &row.try_get::<String, _>("doc")?)?;
    c.id = uuid(&row.try_get::<String, _>("id")?)?;
    c.ticket_id = uuid(&row.try_get::<String, _>("ticket_id")?)?;
    c.moved_from = row.try_get("moved_from")?;
    c.create_time = row.try_get("create_time")?;
    Ok(c)
}

const OLDEST_FIRST: OrderBy = OrderBy::asc("create_time");

/// A page of a ticket's comments, oldest first.
pub(crate) async fn list_comments(
    conn: &mut AnyConnection,
    tenant: &str,
    ticket: Uuid,
    page: &Page,
) -> Result<Vec<Comment>> {
    let s = Select::new(
        "SELECT ticket_id, id, doc, moved_from, create_time FROM ticket_comments \
         WHERE tenant_id = $1 AND ticket_id = $2",
        2,
    );
    let (sql, binds) = s.fixed(page, &OLDEST_FIRST, "create_time", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(ticket.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_comment).collect()
}

/// Moves the comments of `from` to `to`, remembering where each was written.
pub(crate) async fn move_comments(tx: &mut Tx, tenant: &str, from: Uuid, to: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE ticket_comments SET ticket_id = $3, moved_from = CASE WHEN moved_from = '' \
         THEN $4 ELSE moved_from END WHERE tenant_id = $1 AND ticket_id = $2",
    )
    .bind(tenant)
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(crate::domain::ticket::ticket_name(from))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The INSERTs appending history entries, 100 rows each, to run now or with the commit.
pub(crate) fn events_statements(tenant: &str, events: &[Event]) -> Vec<Statement> {
    events
        .chunks(100)
        .map(|chunk| {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = 2 + i * 7;
                    let cells: Vec<String> = (b..b + 7).map(|n| format!("${n}")).collect();
                    format!("($1, {})", cells.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO ticket_events (tenant_id, ticket_id, id, kind, actor_id, detail, \
                 rule, create_time) VALUES {}",
                rows.join(", ")
            );
            chunk.iter().fold(Statement::new(sql).bind(tenant), |s, e| {
                s.bind(e.ticket_id.to_string())
                    .bind(e.id.to_string())
                    .bind(e.kind.clone())
                    .bind(e.actor_id.clone())
                    .bind(e.detail.clone())
                    .bind(e.rule.clone())
                    .bind(e.create_time)
            })
        })
        .collect()
}

fn row_to_event(row: &AnyRow) -> Result<Event> {
    Ok(Event {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        ticket_id: uuid(&row.try_get::<String, _>("ticket_id")?)?,
        kind: row.try_get("kind")?,
        actor_id: row.try_get("actor_id")?,
        detail: row.try_get("detail")?,
        rule: row.try_get("rule")?,
        create_time: row.try_get("create_time")?,
    })
}

/// A page of a ticket's history, oldest first.
pub(crate) async fn list_events(
    conn: &mut AnyConnection,
    tenant: &str,
    ticket: Uuid,
    page: &Page,
) -> Result<Vec<Event>> {
    let s = Select::new(
        "SELECT ticket_id, id, kind, actor_id, detail, rule, create_time FROM ticket_events \
         WHERE tenant_id = $1 AND ticket_id = $2",
        2,
    );
    let (sql, binds) = s.fixed(page, &OLDEST_FIRST, "create_time", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(ticket.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_event).collect()
}

/// The cursor after an entry or comment created at `time` with `id`.
pub(crate) fn cursor(time: Micros, id: Uuid) -> Vec<CursorValue> {
    vec![CursorValue::Int(time), CursorValue::Text(id.to_string())]
}
