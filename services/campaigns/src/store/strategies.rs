//! Plans, strategies and their runs.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    clock::Micros,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, stored, to_json, uuid};
use crate::domain::{
    run::{Run, RunState},
    strategy::{Action, Audience, Plan, Schedule, State, Strategy},
};

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    description: String,
    audience: Audience,
    action: Action,
    schedule: Schedule,
    #[serde(default)]
    occasion: Option<crate::domain::occasion::Occasion>,
    control_bps: i32,
    budget: Option<rapport_kit::validate::Money>,
}

const SELECT: &str = "SELECT s.id, s.display_name, s.state, s.plan_id, s.campaign_id, s.doc, \
     s.spent, s.next_run_time, s.creator, s.create_time, s.update_time, s.version \
     FROM strategies s";

fn optional_id(text: &str) -> Result<Option<Uuid>> {
    if text.is_empty() {
        Ok(None)
    } else {
        uuid(text).map(Some)
    }
}

fn row_to_strategy(row: &AnyRow) -> Result<Strategy> {
    let doc: Doc = from_json("strategies", &row.try_get::<String, _>("doc")?)?;
    Ok(Strategy {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        description: doc.description,
        plan_id: optional_id(&row.try_get::<String, _>("plan_id")?)?,
        campaign_id: optional_id(&row.try_get::<String, _>("campaign_id")?)?,
        audience: doc.audience,
        action: doc.action,
        schedule: doc.schedule,
        occasion: doc.occasion,
        control_bps: doc.control_bps,
        state: stored(
            "strategies",
            &row.try_get::<String, _>("state")?,
            State::parse,
        )?,
        budget: doc.budget,
        spent: row.try_get("spent")?,
        creator: row.try_get("creator")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        next_run_time: row.try_get("next_run_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(s: &Strategy) -> Result<String> {
    to_json(&Doc {
        description: s.description.clone(),
        audience: s.audience.clone(),
        action: s.action.clone(),
        schedule: s.schedule,
        occasion: s.occasion,
        control_bps: s.control_bps,
        budget: s.budget.clone(),
    })
}

fn id_text(id: Option<Uuid>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

/// Inserts a strategy.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, s: &Strategy) -> Result<()> {
    sqlx::query(
        "INSERT INTO strategies (tenant_id, id, display_name, state, plan_id, campaign_id, doc, \
         spent, next_run_time, creator, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(tenant)
    .bind(s.id.to_string())
    .bind(s.display_name.as_str())
    .bind(s.state.as_str())
    .bind(id_text(s.plan_id))
    .bind(id_text(s.campaign_id))
    .bind(doc(s)?)
    .bind(s.spent)
    .bind(s.next_run_time)
    .bind(s.creator.as_str())
    .bind(s.create_time)
    .bind(s.update_time)
    .bind(s.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a strategy whose stored version is `expected`; `false` when it moved on. What it
/// spent is not rewritten: the send worker adds to it under its own lock.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, s: &Strategy, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE strategies SET display_name = $3, state = $4, plan_id = $5, campaign_id = $6, \
         doc = $7, next_run_time = $8, update_time = $9, version = $10 \
         WHERE tenant_id = $1 AND id = $2 AND version = $11",
    )
    .bind(tenant)
    .bind(s.id.to_string())
    .bind(s.display_name.as_str())
    .bind(s.state.as_str())
    .bind(id_text(s.plan_id))
    .bind(id_text(s.campaign_id))
    .bind(doc(s)?)
    .bind(s.next_run_time)
    .bind(s.update_time)
    .bind(s.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A strategy by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Strategy>> {
    one_by_id(conn, SELECT, "s.id", tenant, id, lock, row_to_strategy).await
}

/// Which strategies a list keeps.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub state: Option<State>,
    pub plan_id: Option<Uuid>,
}

/// A page of strategies, newest first.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Strategy>> {
    let mut s = Select::new(format!("{SELECT} WHERE s.tenant_id = $1"), 1);
    if let Some(state) = filter.state {
        let n = s.bind(BindValue::Text(state.as_str().into()));
        s.and(&format!("s.state = ${n}"));
    }
    if let Some(plan) = filter.plan_id {
        let n = s.bind(BindValue::Text(plan.to_string()));
        s.and(&format!("s.plan_id = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST, "s.create_time", "s.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_strategy).collect()
}

/// The cursor after `s`.
pub(crate) fn cursor_of(s: &Strategy) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(s.create_time),
        CursorValue::Text(s.id.to_string()),
    ]
}

/// Tenants with an active strategy whose scheduled run is due at `now`.
pub(crate) async fn due_tenants(conn: &mut AnyConnection, now: Micros) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM strategies WHERE next_run_time <= $1 LIMIT 100",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Up to `limit` of `tenant`'s strategies due at `now`, locked (skipping those another
/// replica holds).
pub(crate) async fn due(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: Micros,
    limit: i64,
) -> Result<Vec<Strategy>> {
    let sql = format!(
        "{SELECT} WHERE s.tenant_id = $1 AND s.next_run_time <= $2 AND s.state = 'active' \
         ORDER BY s.next_run_time LIMIT $3{}",
        dialect.for_update_skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_strategy).collect()
}

/// Sets when strategy `id` runs next (the run sweep's bookkeeping: not a change of the
/// strategy a caller made, so its version and etag stay).
pub(crate) async fn set_next_run(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    next: Option<Micros>,
) -> Result<()> {
    sqlx::query("UPDATE strategies SET next_run_time = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id.to_string())
        .bind(next)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// Plans.

fn row_to_plan(row: &AnyRow) -> Result<Plan> {
    Ok(Plan {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        creator: row.try_get("creator")?,
        create_time: row.try_get("create_time")?,
    })
}

const SELECT_PLAN: &str =
    "SELECT p.id, p.display_name, p.description, p.creator, p.create_time FROM plans p";

/// Inserts a plan.
pub(crate) async fn insert_plan(tx: &mut Tx, tenant: &str, p: &Plan) -> Result<()> {
    sqlx::query(
        "INSERT INTO plans (tenant_id, id, display_name, description, creator, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant)
    .bind(p.id.to_string())
    .bind(p.display_name.as_str())
    .bind(p.description.as_str())
    .bind(p.creator.as_str())
    .bind(p.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A plan by id.
pub(crate) async fn get_plan(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Plan>> {
    one_by_id(conn, SELECT_PLAN, "p.id", tenant, id, None, row_to_plan).await
}

/// A page of plans, newest first.
pub(crate) async fn list_plans(
    conn: &mut AnyConnection,
    tenant: &str,
    page: &Page,
) -> Result<Vec<Plan>> {
    let s = Select::new(format!("{SELECT_PLAN} WHERE p.tenant_id = $1"), 1);
    let (sql, binds) = s.fixed(page, &NEWEST, "p.create_time", "p.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_plan).collect()
}

/// The cursor after `p`.
pub(crate) fn plan_cursor(p: &Plan) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(p.create_time),
        CursorValue::Text(p.id.to_string()),
    ]
}

// Runs.

const SELECT_RUN: &str = "SELECT r.id, r.strategy_id, r.state, r.start_time, r.end_time, \
     r.cursor, r.audience, r.control FROM strategy_runs r";

fn row_to_run(row: &AnyRow) -> Result<Run> {
    Ok(Run {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        strategy_id: uuid(&row.try_get::<String, _>("strategy_id")?)?,
        state: stored(
            "strategy_runs",
            &row.try_get::<String, _>("state")?,
            RunState::parse,
        )?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        cursor: row.try_get("cursor")?,
        audience: row.try_get("audience")?,
        control: row.try_get("control")?,
    })
}

/// Inserts a run.
pub(crate) async fn insert_run(tx: &mut Tx, tenant: &str, r: &Run) -> Result<()> {
    sqlx::query(
        "INSERT INTO strategy_runs (tenant_id, id, strategy_id, state, start_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(r.id.to_string())
    .bind(r.strategy_id.to_string())
    .bind(r.state.as_str())
    .bind(r.start_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Run `id` of strategy `strategy`.
pub(crate) async fn get_run(
    conn: &mut AnyConnection,
    tenant: &str,
    strategy: Uuid,
    id: Uuid,
) -> Result<Option<Run>> {
    let row = sqlx::query(&format!(
        "{SELECT_RUN} WHERE r.tenant_id = $1 AND r.strategy_id = $2 AND r.id = $3"
    ))
    .bind(tenant)
    .bind(strategy.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_to_run).transpose()
}

/// A page of strategy `strategy`'s runs, newest first.
pub(crate) async fn list_runs(
    conn: &mut AnyConnection,
    tenant: &str,
    strategy: Uuid,
    page: &Page,
) -> Result<Vec<Run>> {
    let mut s = Select::new(format!("{SELECT_RUN} WHERE r.tenant_id = $1"), 1);
    let n = s.bind(BindValue::Text(strategy.to_string()));
    s.and(&format!("r.strategy_id = ${n}"));
    let (sql, binds) = s.fixed(page, &OrderBy::desc("start_time"), "r.start_time", "r.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_run).collect()
}

/// The cursor after `r`.
pub(crate) fn run_cursor(r: &Run) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(r.start_time),
        CursorValue::Text(r.id.to_string()),
    ]
}

/// How many of run `run`'s recipients are in each state, and the skipped ones by reason.
pub(crate) async fn run_counts(
    conn: &mut AnyConnection,
    tenant: &str,
    run: Uuid,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT state, reason, COUNT(*) AS n FROM recipients \
         WHERE tenant_id = $1 AND run_id = $2 GROUP BY state, reason",
    )
    .bind(tenant)
    .bind(run.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("reason")?, r.try_get("n")?)))
        .collect()
}

/// Runs in PREPARING that no replica holds at `now`: (tenant, run).
pub(crate) async fn preparing(
    conn: &mut AnyConnection,
    now: Micros,
    limit: i64,
) -> Result<Vec<(String, Uuid, Uuid)>> {
    let rows = sqlx::query(
        "SELECT tenant_id, id, strategy_id FROM strategy_runs \
         WHERE state = 'preparing' AND lease_until <= $1 ORDER BY lease_until LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("tenant_id")?,
                uuid(&r.try_get::<String, _>("id")?)?,
                uuid(&r.try_get::<String, _>("strategy_id")?)?,
            ))
        })
        .collect()
}

/// Takes run `id` for preparing until `until`, if no replica holds it at `now`; whether it
/// was taken.
pub(crate) async fn lease_run(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    now: Micros,
    until: Micros,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE strategy_runs SET lease_until = $4 WHERE tenant_id = $1 AND id = $2 \
         AND state = 'preparing' AND lease_until <= $3",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(now)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a page of run `id` read: its cursor, the members and hold-outs added, the lease
/// renewed.
pub(crate) async fn advance_run(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    cursor: &str,
    (audience, control): (i64, i64),
    until: Micros,
) -> Result<()> {
    sqlx::query(
        "UPDATE strategy_runs SET cursor = $3, audience = audience + $4, \
         control = control + $5, lease_until = $6 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(cursor)
    .bind(audience)
    .bind(control)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves run `id` to `state`, ending it at `end` when given.
pub(crate) async fn set_run_state(
    tx: &mut Tx,
    tenant: &str,
    id: &str,
    state: RunState,
    end: Option<Micros>,
) -> Result<()> {
    sqlx::query(
        "UPDATE strategy_runs SET state = $3, end_time = COALESCE($4, end_time) \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(state.as_str())
    .bind(end)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds `cost` to what strategy `id` spent.
pub(crate) async fn spend(tx: &mut Tx, tenant: &str, id: &str, cost: i64) -> Result<()> {
    sqlx::query("UPDATE strategies SET spent = spent + $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(cost)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
