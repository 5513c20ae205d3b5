//! Tickets: the document and the columns lists, the SLA sweep and reports read.

use rapport_kit::{
    names,
    query::{CursorValue, FieldSpec, ListQuery, OrderBy, Select},
};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{BindValue, Statement, Tx, all_with, bind_all, one_by_id},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json};
use crate::domain::{
    sla::{SlaState, TargetKind},
    ticket::Ticket,
};

/// What ListTickets filters on.
pub(crate) const TICKET_FILTERS: &[FieldSpec] = &[
    FieldSpec::text("type", "t.ticket_type"),
    FieldSpec::enumeration(
        "priority",
        "t.priority",
        &["LOW", "NORMAL", "HIGH", "URGENT"],
    ),
    FieldSpec::enumeration(
        "channel",
        "t.channel",
        &["PHONE", "STORE", "IM", "EMAIL", "WEB", "PARTNER"],
    ),
    FieldSpec::enumeration(
        "state",
        "t.state",
        &[
            "NEW",
            "OPEN",
            "PENDING_CUSTOMER",
            "PENDING_THIRD_PARTY",
            "ESCALATED",
            "RESOLVED",
            "CLOSED",
            "REOPENED",
        ],
    ),
    FieldSpec::exists("customer", "t.customer_id = {}", Some(customer_filter)),
    FieldSpec::exists("order", "t.order_id = {}", Some(order_filter)),
    FieldSpec::exists("queue", "t.queue_id = {}", Some(queue_filter)),
    FieldSpec::text("assignee", "t.assignee"),
    FieldSpec::text("team_id", "t.team_id"),
    FieldSpec::text("category", "t.category"),
    FieldSpec::text("store", "t.store"),
    FieldSpec::boolean("sla_breached", "t.sla_breached"),
    FieldSpec::timestamp("create_time", "t.create_time"),
    FieldSpec::timestamp("update_time", "t.update_time"),
    FieldSpec::timestamp("resolve_time", "t.resolve_time"),
];

fn customer_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("customers", v).map(|id| id.to_string())
}

fn order_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("orders", v).map(|id| id.to_string())
}

fn queue_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("queues", v).map(|id| id.to_string())
}

const SELECT: &str = "SELECT t.doc FROM tickets t";

pub(crate) fn row_to_ticket(row: &AnyRow) -> Result<Ticket> {
    from_json("tickets", &row.try_get::<String, _>("doc")?)
}

/// A target's outcome as reports count it: 0 open or none, 1 met in time, 2 breached.
fn outcome(t: &Ticket, kind: TargetKind) -> i64 {
    match t.sla.as_ref().and_then(|s| s.get(kind)) {
        Some(x) if x.breached => 2,
        Some(x) if x.state == SlaState::Met => 1,
        _ => 0,
    }
}

/// Business seconds a met target took.
fn met_seconds(t: &Ticket, kind: TargetKind) -> Option<i64> {
    t.sla
        .as_ref()
        .and_then(|s| s.get(kind))
        .filter(|x| x.met_time.is_some())
        .map(|x| x.used / 1_000_000)
}

/// A ticket's columns after the tenant, as `$2..$29`.
fn binds(t: &Ticket) -> Result<Vec<BindValue>> {
    Ok(vec![
        BindValue::Text(t.id.to_string()),
        BindValue::Text(t.ticket_type.clone()),
        BindValue::Int(t.priority.rank()),
        BindValue::Text(t.channel.as_str().to_owned()),
        BindValue::Text(t.state.as_str().to_owned()),
        BindValue::Text(t.customer_id.to_string()),
        BindValue::Text(t.order_id.map(|o| o.to_string()).unwrap_or_default()),
        BindValue::Text(t.queue_id.clone()),
        BindValue::Text(t.assignee.clone()),
        BindValue::Text(t.team_id.clone()),
        BindValue::Text(t.category.clone()),
        BindValue::Text(t.store.clone()),
        BindValue::Int(i64::from(t.sla_breached())),
        BindValue::OptInt(t.sla_check()),
        BindValue::Int(outcome(t, TargetKind::FirstResponse)),
        BindValue::Int(outcome(t, TargetKind::NextResponse)),
        BindValue::Int(outcome(t, TargetKind::Resolution)),
        BindValue::OptInt(met_seconds(t, TargetKind::FirstResponse)),
        BindValue::OptInt(met_seconds(t, TargetKind::Resolution)),
        BindValue::Text(t.resolved_by.clone()),
        BindValue::OptInt(t.resolve_time),
        BindValue::Int(i64::from(t.reopen_count)),
        BindValue::OptInt(t.satisfaction.as_ref().map(|s| i64::from(s.score))),
        BindValue::Int(i64::from(t.assignee.is_empty() && t.state.is_active())),
        BindValue::Text(to_json(t)?),
        BindValue::Int(t.create_time),
        BindValue::Int(t.update_time),
        BindValue::Int(t.version),
    ])
}

const COLUMNS: &str = "tenant_id, id, ticket_type, priority, channel, state, customer_id, \
     order_id, queue_id, assignee, team_id, category, store, sla_breached, sla_check, \
     sla_first_response, sla_next_response, sla_resolution, first_response_seconds, \
     resolution_seconds, resolved_by, resolve_time, reopen_count, satisfaction, waiting, doc, \
     create_time, update_time, version";

/// The INSERT of a new ticket, to run now or with the write's commit.
pub(crate) fn insert_statement(tenant: &str, t: &Ticket) -> Result<Statement> {
    let placeholders: Vec<String> = (1..=29).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO tickets ({COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    );
    Ok(binds(t)?
        .into_iter()
        .fold(Statement::new(sql).bind(tenant), Statement::bind))
}

/// The rewrite of a ticket the write holds locked, to run with the write's commit: no version
/// check, since nobody else can change the row meanwhile.
pub(crate) fn update_locked_statement(tenant: &str, t: &Ticket) -> Result<Statement> {
    Ok(binds(t)?.into_iter().fold(
        Statement::new(update_sql(false)).bind(tenant),
        Statement::bind,
    ))
}

fn update_sql(check_version: bool) -> String {
    let sets: Vec<String> = COLUMNS
        .split(", ")
        .enumerate()
        .skip(2)
        .map(|(i, c)| format!("{} = ${}", c.trim(), i + 1))
        .collect();
    format!(
        "UPDATE tickets SET {} WHERE tenant_id = $1 AND id = $2{}",
        sets.join(", "),
        if check_version {
            " AND version = $30"
        } else {
            ""
        }
    )
}

/// Rewrites a ticket whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, t: &Ticket, expected: i64) -> Result<bool> {
    let mut binds = binds(t)?;
    binds.push(BindValue::Int(expected));
    let sql = update_sql(true);
    let done = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A ticket by id, locked for the rest of the transaction when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Ticket>> {
    one_by_id(conn, SELECT, "t.id", tenant, id, lock, row_to_ticket).await
}

/// Tickets by id, locked, in id order (a merge locks all it touches in one order).
pub(crate) async fn lock_many(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    ids: &[Uuid],
) -> Result<Vec<Ticket>> {
    all_with(
        tx,
        SELECT,
        ("t.id", "t.id"),
        tenant,
        ids,
        Some(dialect),
        row_to_ticket,
    )
    .await
}

/// Who sees which tickets, in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Visible {
    All,
    /// A supervisor: the team's tickets.
    Team(String),
    /// An agent: its queues' tickets and its own.
    Agent(String),
    /// One customer's (a rep, once the customers service said it sees the customer).
    Customer(Uuid),
}

fn sort_column(field: &str) -> &'static str {
    match field {
        "update_time" => "t.update_time",
        "priority" => "t.priority",
        _ => "t.create_time",
    }
}

/// The cursor after `t` in `order`.
pub(crate) fn cursor_of(t: &Ticket, order: &OrderBy) -> Vec<CursorValue> {
    let key = match order.field {
        "update_time" => t.update_time,
        "priority" => t.priority.rank(),
        _ => t.create_time,
    };
    vec![CursorValue::Int(key), CursorValue::Text(t.id.to_string())]
}

/// A page of the tickets `visible` allows.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
    visible: &Visible,
) -> Result<Vec<Ticket>> {
    let mut s = Select::filtered(
        format!("{SELECT} WHERE t.tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    match visible {
        Visible::All => {}
        Visible::Team(team) => {
            let n = s.bind(BindValue::Text(team.clone()));
            s.and(&format!("t.team_id = ${n}"));
        }
        Visible::Agent(agent) => {
            let n = s.bind(BindValue::Text(agent.clone()));
            s.and(&format!(
                "(t.assignee = ${n} OR t.queue_id IN (SELECT m.queue_id FROM queue_members m \
                 WHERE m.tenant_id = $1 AND m.agent_id = ${n}))"
            ));
        }
        Visible::Customer(c) => {
            let n = s.bind(BindValue::Text(c.to_string()));
            s.and(&format!("t.customer_id = ${n}"));
        }
    }
    let (sql, binds) = s.list(q, sort_column(q.order.field), "t.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_ticket).collect()
}

/// The ids of `customers`' tickets, locked for the rest of the transaction.
pub(crate) async fn lock_of_customers(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    customers: &[Uuid],
) -> Result<Vec<Ticket>> {
    let columns = ("t.customer_id", "t.id");
    all_with(
        tx,
        SELECT,
        columns,
        tenant,
        customers,
        Some(dialect),
        row_to_ticket,
    )
    .await
}

/// Tenants with SLA work due at `now` (at most `limit`).
pub(crate) async fn tenants_with_due_sla(
    conn: &mut AnyConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM tickets WHERE sla_check IS NOT NULL AND sla_check <= $1 \
         ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).bind(now).fetch_all(conn).await?)
}

/// Up to `limit` of the tenant's tickets with SLA work due at `now`, locked; on PostgreSQL
/// rows another sweep holds are skipped, so replicas split the work.
pub(crate) async fn lock_due_sla(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let sql = format!(
        "{SELECT} WHERE t.tenant_id = $1 AND t.sla_check IS NOT NULL AND t.sla_check <= $2 \
         ORDER BY t.sla_check LIMIT {limit}{}",
        dialect.for_update_skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_ticket).collect()
}

/// Tenants with tickets waiting for an agent with room (at most `limit`).
pub(crate) async fn tenants_with_waiting(
    conn: &mut AnyConnection,
    limit: u32,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT tenant_id FROM tickets WHERE waiting = 1 ORDER BY tenant_id LIMIT {limit}"
    );
    Ok(sqlx::query_scalar(&sql).fetch_all(conn).await?)
}

/// Up to `limit` of the tenant's tickets waiting for an agent, oldest first, locked (skipping
/// those another sweep holds).
pub(crate) async fn lock_waiting(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    limit: u32,
) -> Result<Vec<Ticket>> {
    let sql = format!(
        "{SELECT} WHERE t.tenant_id = $1 AND t.waiting = 1 ORDER BY t.create_time, t.id \
         LIMIT {limit}{}",
        dialect.for_update_skip_locked()
    );
    let rows = sqlx::query(&sql).bind(tenant).fetch_all(&mut **tx).await?;
    rows.iter().map(row_to_ticket).collect()
}
