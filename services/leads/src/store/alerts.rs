//! Alerts raised for people, deduplicated per tenant by their dedupe key.

use rapport_kit::query::{CursorValue, OrderBy, Select};
use rapport_runtime::{
    Error, Result,
    storage::BindValue,
    storage::bind_all,
    storage::{Statement, Tx},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::uuid;
use crate::domain::{
    alert::{Alert, AlertKind},
    visibility::Scope,
};

const COLUMNS: &str =
    "id, recipient_id, team_id, kind, subject, message, due_time, dedupe_key, create_time";
const NEWEST_FIRST: OrderBy = OrderBy::desc("create_time");

fn row_to_alert(row: &AnyRow) -> Result<Alert> {
    let kind: String = row.try_get("kind")?;
    Ok(Alert {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        recipient_id: row.try_get("recipient_id")?,
        team_id: row.try_get("team_id")?,
        kind: AlertKind::parse(&kind)
            .ok_or_else(|| Error::internal(format!("bad alert kind {kind:?}")))?,
        subject: row.try_get("subject")?,
        message: row.try_get("message")?,
        due_time: row.try_get("due_time")?,
        dedupe_key: row.try_get("dedupe_key")?,
        create_time: row.try_get("create_time")?,
    })
}

/// Inserts an alert unless one with its dedupe key exists; whether it was inserted.
pub(crate) async fn insert_alert(tx: &mut Tx, tenant: &str, a: &Alert) -> Result<bool> {
    Ok(!insert_alerts(tx, tenant, std::slice::from_ref(a))
        .await?
        .is_empty())
}

/// Stores `alerts` (skipping those whose dedupe key exists); the ids stored.
pub(crate) async fn insert_alerts(
    conn: &mut AnyConnection,
    tenant: &str,
    alerts: &[Alert],
) -> Result<Vec<String>> {
    let mut stored = Vec::new();
    // 10 columns; 500 rows per statement stays under every bind limit.
    for chunk in alerts.chunks(500) {
        for r in insert_statement(tenant, chunk, " RETURNING id")
            .fetch_all(conn)
            .await?
        {
            stored.push(r.try_get("id")?);
        }
    }
    Ok(stored)
}

/// The insert of an alert that can never repeat, for a write to defer: it is stored without a
/// dedupe key, which spares the unique index.
pub(crate) fn fresh_alert_statement(tenant: &str, alert: &Alert) -> Statement {
    let fresh = Alert {
        dedupe_key: String::new(),
        ..alert.clone()
    };
    insert_statement(tenant, std::slice::from_ref(&fresh), "")
}

fn insert_statement(tenant: &str, alerts: &[Alert], returning: &str) -> Statement {
    let values: Vec<String> = (0..alerts.len())
        .map(|i| format!("($1, {})", super::placeholders(2 + i * 9, 9)))
        .collect();
    let sql = format!(
        "INSERT INTO alerts (tenant_id, id, recipient_id, team_id, kind, subject, message, \
         due_time, dedupe_key, create_time) VALUES {} \
         ON CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key <> '' DO NOTHING{returning}",
        values.join(", ")
    );
    alerts
        .iter()
        .fold(Statement::new(sql).bind(tenant), |s, a| {
            s.bind(a.id.to_string())
                .bind(&a.recipient_id)
                .bind(&a.team_id)
                .bind(a.kind.as_str())
                .bind(&a.subject)
                .bind(&a.message)
                .bind(a.due_time)
                .bind(&a.dedupe_key)
                .bind(a.create_time)
        })
}

/// A page of one recipient's alerts.
#[derive(Debug, Clone)]
pub(crate) struct AlertQuery<'a> {
    /// Whose alerts.
    pub recipient: &'a str,
    /// Only this kind, if set.
    pub kind: Option<AlertKind>,
    /// What the caller may see.
    pub scope: &'a Scope,
    /// `[create_time, id]` of the last row of the previous page, or empty.
    pub after: &'a [CursorValue],
    /// Rows to fetch.
    pub limit: u32,
}

/// A recipient's alerts the scope sees, newest first.
pub(crate) async fn list_alerts(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &AlertQuery<'_>,
) -> Result<Vec<Alert>> {
    let mut s = Select::new(
        format!("SELECT {COLUMNS} FROM alerts WHERE tenant_id = $1 AND recipient_id = $2"),
        2,
    );
    if let Some(kind) = q.kind {
        let n = s.bind(BindValue::Text(kind.as_str().to_owned()));
        s.and(&format!("kind = ${n}"));
    }
    s.and_visible(q.scope, "recipient_id", "team_id");
    let (sql, binds) = s.page(&NEWEST_FIRST, q.after, "create_time", "id", q.limit)?;
    let query = bind_all(sqlx::query(&sql).bind(tenant).bind(q.recipient), &binds);
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(row_to_alert).collect()
}
