//! Tasks, their lists by due time, and the reminder sweep's claim on due reminders.

use rapport_kit::{
    query::{CursorValue, OrderBy, Select},
    sweep::{Claim, claim},
};
use rapport_runtime::storage::one_by_id;
use rapport_runtime::{
    Error, Result,
    clock::Micros,
    dialect::Dialect,
    storage::BindValue,
    storage::bind_all,
    storage::{Tx, bool_int},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::{
    task::{Task, TaskKind, TaskView},
    visibility::Scope,
};

const COLUMNS: &str = "id, kind, title, assignee_id, team_id, subject, due_time, remind_time, \
     reminded, complete_time, notes, create_time, update_time, version";
const BY_DUE: OrderBy = OrderBy::asc("due_time");

fn row_to_task(row: &AnyRow) -> Result<Task> {
    let kind: String = row.try_get("kind")?;
    Ok(Task {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        kind: TaskKind::parse(&kind)
            .ok_or_else(|| Error::internal(format!("bad task kind {kind:?}")))?,
        title: row.try_get("title")?,
        assignee_id: row.try_get("assignee_id")?,
        team_id: row.try_get("team_id")?,
        subject: row.try_get("subject")?,
        due_time: row.try_get("due_time")?,
        remind_time: row.try_get("remind_time")?,
        reminded: row.try_get::<i64, _>("reminded")? != 0,
        complete_time: row.try_get("complete_time")?,
        notes: row.try_get("notes")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// Inserts a new task.
pub(crate) async fn insert_task(tx: &mut Tx, tenant: &str, t: &Task) -> Result<()> {
    sqlx::query(
        "INSERT INTO tasks (tenant_id, id, kind, title, assignee_id, team_id, subject, due_time, \
         remind_time, reminded, complete_time, notes, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.kind.as_str())
    .bind(t.title.as_str())
    .bind(t.assignee_id.as_str())
    .bind(t.team_id.as_str())
    .bind(t.subject.as_str())
    .bind(t.due_time)
    .bind(t.remind_time)
    .bind(bool_int(t.reminded))
    .bind(t.complete_time)
    .bind(t.notes.as_str())
    .bind(t.create_time)
    .bind(t.update_time)
    .bind(t.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A task by id.
pub(crate) async fn get_task(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Task>> {
    one_by_id(conn, &select(), "id", tenant, id, None, row_to_task).await
}

/// A task by id, locked for the rest of the transaction.
pub(crate) async fn lock_task(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Task>> {
    one_by_id(tx, &select(), "id", tenant, id, Some(dialect), row_to_task).await
}

/// Rewrites a task whose stored version is `expected_version`; `false` when it moved on.
pub(crate) async fn update_task(
    tx: &mut Tx,
    tenant: &str,
    t: &Task,
    expected_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tasks SET title = $3, due_time = $4, remind_time = $5, reminded = $6, \
         complete_time = $7, notes = $8, update_time = $9, version = $10 \
         WHERE tenant_id = $1 AND id = $2 AND version = $11",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.title.as_str())
    .bind(t.due_time)
    .bind(t.remind_time)
    .bind(bool_int(t.reminded))
    .bind(t.complete_time)
    .bind(t.notes.as_str())
    .bind(t.update_time)
    .bind(t.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `t` (locked, at `expected_version`) its new assignee and team; `false` when it moved
/// on.
pub(crate) async fn set_assignee(
    tx: &mut Tx,
    tenant: &str,
    t: &Task,
    expected_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tasks SET assignee_id = $3, team_id = $4, update_time = $5, version = $6 \
         WHERE tenant_id = $1 AND id = $2 AND version = $7",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.assignee_id.as_str())
    .bind(t.team_id.as_str())
    .bind(t.update_time)
    .bind(t.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The open tasks of `assignee`, locked, by due time.
pub(crate) async fn lock_open_assigned_to(
    tx: &mut Tx,
    tenant: &str,
    assignee: &str,
) -> Result<Vec<Task>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tasks WHERE tenant_id = $1 AND assignee_id = $2 \
         AND complete_time IS NULL ORDER BY due_time, id{}",
        tx.dialect().for_update()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(assignee)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_task).collect()
}

/// Moves the open tasks of `assignee` to `team`, so the new team's manager sees them; done
/// tasks stay with the team they were done in.
pub(crate) async fn move_open_tasks(
    tx: &mut Tx,
    tenant: &str,
    assignee: &str,
    team: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET team_id = $3 WHERE tenant_id = $1 AND assignee_id = $2 \
         AND complete_time IS NULL AND team_id <> $3",
    )
    .bind(tenant)
    .bind(assignee)
    .bind(team)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A page of one assignee's tasks.
#[derive(Debug, Clone)]
pub(crate) struct TaskQuery<'a> {
    /// Whose tasks.
    pub assignee: &'a str,
    /// Which of them.
    pub view: TaskView,
    /// Now, for the due and overdue views.
    pub now: Micros,
    /// What the caller may see.
    pub scope: &'a Scope,
    /// `[due_time, id]` of the last row of the previous page, or empty.
    pub after: &'a [CursorValue],
    /// Rows to fetch.
    pub limit: u32,
}

/// Tasks of one assignee in one view, by due time, that the scope sees.
pub(crate) async fn list_tasks(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &TaskQuery<'_>,
) -> Result<Vec<Task>> {
    let mut s = Select::new(
        format!("SELECT {COLUMNS} FROM tasks WHERE tenant_id = $1 AND assignee_id = $2"),
        2,
    );
    match q.view {
        TaskView::All => {}
        TaskView::Open => {
            s.and("complete_time IS NULL");
        }
        TaskView::Due { before } => {
            let a = s.bind(BindValue::Int(q.now));
            let b = s.bind(BindValue::Int(before));
            s.and(&format!(
                "complete_time IS NULL AND due_time >= ${a} AND due_time < ${b}"
            ));
        }
        TaskView::Overdue => {
            let a = s.bind(BindValue::Int(q.now));
            s.and(&format!("complete_time IS NULL AND due_time < ${a}"));
        }
    }
    s.and_visible(q.scope, "assignee_id", "team_id");
    let (sql, binds) = s.page(&BY_DUE, q.after, "due_time", "id", q.limit)?;
    let query = bind_all(sqlx::query(&sql).bind(tenant).bind(q.assignee), &binds);
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(row_to_task).collect()
}

/// Tenants with reminders due at `now` (at most `limit`), for the sweep to visit one by one.
pub(crate) async fn tenants_with_due_reminders(
    conn: &mut AnyConnection,
    now: Micros,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM tasks WHERE reminded = 0 AND remind_time <= $1 \
         AND complete_time IS NULL ORDER BY tenant_id LIMIT {limit}"
    );
    let rows = sqlx::query(&sql).bind(now).fetch_all(conn).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Error::from))
        .collect()
}

/// Claims up to `limit` of the tenant's due reminders in `tx` (marks them reminded), so a
/// task's reminder fires once however many sweeps run.
pub(crate) async fn claim_due_reminders(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: Micros,
    limit: u32,
) -> Result<Vec<Task>> {
    let select = format!(
        "SELECT {COLUMNS} FROM tasks WHERE tenant_id = $1 AND reminded = 0 AND remind_time <= $2 \
         AND complete_time IS NULL ORDER BY remind_time, id LIMIT {limit}"
    );
    let due = Claim {
        table: "tasks",
        flag: "reminded",
        select: &select,
    };
    claim(tx, dialect, tenant, now, &due, |row| {
        let task = row_to_task(row)?;
        Ok((task.id.to_string(), task))
    })
    .await
}

/// The select of the columns of a row.
fn select() -> String {
    format!("SELECT {COLUMNS} FROM tasks")
}
