//! The staff inbox: items per recipient, and the team managers an alert for a team goes to.
//! Every statement names the tenant and the recipient first, so it walks one person's slice of
//! `inbox_items_recipient` or, for what is unread, of the partial index `inbox_items_unread`.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    clock::Micros,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use crate::domain::inbox::{Item, Kind, Notice, Summary};

const COLUMNS: &str = "id, recipient_id, kind, title, body, resource, source_event_id, due_time, \
                       create_time, read_time";
/// An inbox as lists show it.
const NEWEST_FIRST: OrderBy = OrderBy::desc("create_time");
/// An inbox as a watcher catches up on it.
const OLDEST_FIRST: OrderBy = OrderBy::asc("create_time");

fn row_to_item(row: &AnyRow) -> Result<Item> {
    let kind: String = row.try_get("kind")?;
    Ok(Item {
        id: id_of(row)?,
        notice: Notice {
            recipient_id: row.try_get("recipient_id")?,
            kind: super::stored("inbox_items", &kind, Kind::parse)?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            resource: row.try_get("resource")?,
            source_event_id: row.try_get("source_event_id")?,
            due_time: row.try_get("due_time")?,
        },
        create_time: row.try_get("create_time")?,
        read_time: row.try_get("read_time")?,
    })
}

/// Writes `item` unless its event already made one for its recipient; whether it was written.
pub async fn insert(tx: &mut Tx, tenant: &str, item: &Item) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO inbox_items (tenant_id, id, recipient_id, kind, title, body, resource, \
         source_event_id, due_time, create_time, read_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(item.id.to_string())
    .bind(&item.notice.recipient_id)
    .bind(item.notice.kind.as_str())
    .bind(&item.notice.title)
    .bind(&item.notice.body)
    .bind(&item.notice.resource)
    .bind(&item.notice.source_event_id)
    .bind(item.notice.due_time)
    .bind(item.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which of an inbox's items a list shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// Only unread ones.
    pub unread_only: bool,
    /// Only this kind.
    pub kind: Option<Kind>,
}

/// A page of `recipient`'s items, newest first.
pub async fn list(
    conn: &mut AnyConnection,
    (tenant, recipient): (&str, &str),
    shown: Shown,
    page: &Page,
) -> Result<Vec<Item>> {
    let mut s = Select::new(
        format!("SELECT {COLUMNS} FROM inbox_items WHERE tenant_id = $1 AND recipient_id = $2"),
        2,
    );
    if shown.unread_only {
        s.and("read_time IS NULL");
    }
    if let Some(kind) = shown.kind {
        let n = s.bind(BindValue::Text(kind.as_str().to_owned()));
        s.and(&format!("kind = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST_FIRST, "create_time", "id")?;
    fetch(conn, (tenant, recipient), &sql, &binds).await
}

/// Up to `limit` of `recipient`'s items after `(create_time, id)`, oldest first: what a watcher
/// missed. An empty id takes every item of that time too.
pub async fn after(
    conn: &mut AnyConnection,
    (tenant, recipient): (&str, &str),
    (time, id): (Micros, &str),
    limit: u32,
) -> Result<Vec<Item>> {
    let s = Select::new(
        format!("SELECT {COLUMNS} FROM inbox_items WHERE tenant_id = $1 AND recipient_id = $2"),
        2,
    );
    let cursor = [CursorValue::Int(time), CursorValue::Text(id.to_owned())];
    let (sql, binds) = s.page(&OLDEST_FIRST, &cursor, "create_time", "id", limit)?;
    fetch(conn, (tenant, recipient), &sql, &binds).await
}

async fn fetch(
    conn: &mut AnyConnection,
    (tenant, recipient): (&str, &str),
    sql: &str,
    binds: &[BindValue],
) -> Result<Vec<Item>> {
    let rows = bind_all(sqlx::query(sql).bind(tenant).bind(recipient), binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_item).collect()
}

/// `recipient`'s item `id`, if it is theirs.
pub async fn get(
    conn: &mut AnyConnection,
    (tenant, recipient): (&str, &str),
    id: Uuid,
) -> Result<Option<Item>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM inbox_items WHERE tenant_id = $1 AND id = $2 AND recipient_id = $3"
    ))
    .bind(tenant)
    .bind(id.to_string())
    .bind(recipient)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_to_item).transpose()
}

/// `recipient`'s unread items counted by kind, from the unread index alone.
pub async fn summary(conn: &mut AnyConnection, tenant: &str, recipient: &str) -> Result<Summary> {
    let rows = sqlx::query(
        "SELECT kind, COUNT(*) AS n FROM inbox_items \
         WHERE tenant_id = $1 AND recipient_id = $2 AND read_time IS NULL GROUP BY kind",
    )
    .bind(tenant)
    .bind(recipient)
    .fetch_all(conn)
    .await?;
    let mut by_kind = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let kind = super::stored("inbox_items", &kind, Kind::parse)?;
        by_kind.push((kind, r.try_get::<i64, _>("n")?));
    }
    by_kind.sort();
    Ok(Summary { by_kind })
}

/// Which of `ids` are `recipient`'s items.
pub async fn owned(
    tx: &mut Tx,
    dialect: Dialect,
    (tenant, recipient): (&str, &str),
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let sql = format!(
        "SELECT id FROM inbox_items WHERE tenant_id = $1 AND recipient_id = $2 \
         AND id IN (SELECT q.id FROM {} q)",
        dialect.json_rows("$3", &["id"])
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(recipient)
        .bind(id_rows(ids)?)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(id_of).collect()
}

fn id_of(row: &AnyRow) -> Result<Uuid> {
    super::uuid(&row.try_get::<String, _>("id")?)
}

/// Marks those of `ids` that are unread read at `now`; the ids that turned read.
pub async fn mark_read(
    tx: &mut Tx,
    dialect: Dialect,
    (tenant, recipient): (&str, &str),
    ids: &[Uuid],
    now: Micros,
) -> Result<Vec<Uuid>> {
    let sql = format!(
        "UPDATE inbox_items SET read_time = $3 WHERE tenant_id = $1 AND recipient_id = $2 \
         AND read_time IS NULL AND id IN (SELECT q.id FROM {} q) RETURNING id",
        dialect.json_rows("$4", &["id"])
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(recipient)
        .bind(now)
        .bind(id_rows(ids)?)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(id_of).collect()
}

/// Marks every unread item of `recipient` created at or before `up_to` read at `now`; how many.
pub async fn mark_all_read(
    tx: &mut Tx,
    (tenant, recipient): (&str, &str),
    up_to: Micros,
    now: Micros,
) -> Result<i64> {
    let done = sqlx::query(
        "UPDATE inbox_items SET read_time = $4 WHERE tenant_id = $1 AND recipient_id = $2 \
         AND read_time IS NULL AND create_time <= $3",
    )
    .bind(tenant)
    .bind(recipient)
    .bind(up_to)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(i64::try_from(done.rows_affected()).unwrap_or(i64::MAX))
}

/// `ids` as the JSON rows `Dialect::json_rows` reads.
fn id_rows(ids: &[Uuid]) -> Result<String> {
    let rows: Vec<[String; 1]> = ids.iter().map(|id| [id.to_string()]).collect();
    super::to_json(&rows)
}

/// Records `manager` as the manager of `team`, as announced at `update_time`; an older
/// announcement arriving late changes nothing.
pub async fn set_team_manager(
    tx: &mut Tx,
    tenant: &str,
    (team, manager): (&str, &str),
    update_time: Micros,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inbox_team_managers (tenant_id, team_id, manager_id, update_time) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, team_id) DO UPDATE \
         SET manager_id = excluded.manager_id, update_time = excluded.update_time \
         WHERE inbox_team_managers.update_time <= excluded.update_time",
    )
    .bind(tenant)
    .bind(team)
    .bind(manager)
    .bind(update_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The manager of `team`, if it has one on record.
pub async fn team_manager(tx: &mut Tx, tenant: &str, team: &str) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT manager_id FROM inbox_team_managers WHERE tenant_id = $1 AND team_id = $2",
    )
    .bind(tenant)
    .bind(team)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row
        .map(|r| r.try_get::<String, _>("manager_id"))
        .transpose()?
        .filter(|m| !m.is_empty()))
}
