//! Commission accruals, the ledger and statements.

use std::collections::BTreeMap;

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    storage::{BindValue, Tx, bind_all},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, stored, to_json, uuid};
use crate::domain::commission::Accrual;

/// What each line of `order` was credited so far.
pub(crate) async fn accruals(tx: &mut Tx, tenant: &str, order: &str) -> Result<Vec<Accrual>> {
    let rows = sqlx::query(
        "SELECT order_id, line_id, partner_id, category, currency, rate_bps, basis, amount \
         FROM commission_accruals WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_id",
    )
    .bind(tenant)
    .bind(order)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Accrual {
                order_id: r.try_get("order_id")?,
                line_id: r.try_get("line_id")?,
                partner_id: r.try_get("partner_id")?,
                category: r.try_get("category")?,
                currency: r.try_get("currency")?,
                rate_bps: i32::try_from(r.try_get::<i64, _>("rate_bps")?).unwrap_or_default(),
                basis: r.try_get("basis")?,
                amount: r.try_get("amount")?,
            })
        })
        .collect()
}

/// Whether any line of `order` was ever credited.
pub(crate) async fn credited(conn: &mut AnyConnection, tenant: &str, order: &str) -> Result<bool> {
    let found: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM commission_accruals WHERE tenant_id = $1 AND order_id = $2 LIMIT 1",
    )
    .bind(tenant)
    .bind(order)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Stores what each line is credited now.
pub(crate) async fn save_accruals(tx: &mut Tx, tenant: &str, accruals: &[Accrual]) -> Result<()> {
    for a in accruals {
        sqlx::query(
            "INSERT INTO commission_accruals (tenant_id, order_id, line_id, partner_id, category, \
             currency, rate_bps, basis, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (tenant_id, order_id, line_id) DO UPDATE SET \
             partner_id = excluded.partner_id, category = excluded.category, \
             currency = excluded.currency, rate_bps = excluded.rate_bps, \
             basis = excluded.basis, amount = excluded.amount",
        )
        .bind(tenant)
        .bind(a.order_id.as_str())
        .bind(a.line_id.as_str())
        .bind(a.partner_id.as_str())
        .bind(a.category.as_str())
        .bind(a.currency.as_str())
        .bind(i64::from(a.rate_bps))
        .bind(a.basis)
        .bind(a.amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// When `order` completed, if it did.
pub(crate) async fn completed(tx: &mut Tx, tenant: &str, order: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT completed_time FROM commission_orders WHERE tenant_id = $1 AND order_id = $2",
    )
    .bind(tenant)
    .bind(order)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Records that `order` completed at `at`, and makes its lines on no statement payable at
/// `payable`.
pub(crate) async fn complete(
    tx: &mut Tx,
    tenant: &str,
    order: &str,
    at: i64,
    payable: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO commission_orders (tenant_id, order_id, completed_time) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, order_id) DO NOTHING",
    )
    .bind(tenant)
    .bind(order)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE commission_lines SET payable_time = $3 \
         WHERE tenant_id = $1 AND order_id = $2 AND statement_id = '' AND payable_time = 0",
    )
    .bind(tenant)
    .bind(order)
    .bind(payable)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a ledger line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Accrual,
    Reversal,
    Rebate,
    Adjustment,
}

impl Kind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Accrual => "accrual",
            Kind::Reversal => "reversal",
            Kind::Rebate => "rebate",
            Kind::Adjustment => "adjustment",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Kind::Accrual,
            Kind::Reversal,
            Kind::Rebate,
            Kind::Adjustment,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub kind: Kind,
    pub currency: String,
    pub amount: i64,
    pub basis: i64,
    pub rate_bps: i32,
    pub order_id: String,
    pub line_id: String,
    pub category: String,
    pub explanation: String,
    /// 0 while not payable.
    pub payable_time: i64,
    /// Empty while on no statement.
    pub statement_id: String,
    pub create_time: i64,
}

/// Appends `l` to the ledger.
pub(crate) async fn insert_line(tx: &mut Tx, tenant: &str, l: &Line) -> Result<()> {
    sqlx::query(
        "INSERT INTO commission_lines (tenant_id, partner_id, id, kind, currency, amount, basis, \
         rate_bps, order_id, line_id, category, explanation, payable_time, statement_id, \
         create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(tenant)
    .bind(l.partner_id.to_string())
    .bind(l.id.to_string())
    .bind(l.kind.as_str())
    .bind(l.currency.as_str())
    .bind(l.amount)
    .bind(l.basis)
    .bind(i64::from(l.rate_bps))
    .bind(l.order_id.as_str())
    .bind(l.line_id.as_str())
    .bind(l.category.as_str())
    .bind(l.explanation.as_str())
    .bind(l.payable_time)
    .bind(l.statement_id.as_str())
    .bind(l.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const LINE_COLUMNS: &str = "partner_id, id, kind, currency, amount, basis, rate_bps, order_id, \
     line_id, category, explanation, payable_time, statement_id, create_time";

fn row_to_line(r: &AnyRow) -> Result<Line> {
    Ok(Line {
        id: uuid(&r.try_get::<String, _>("id")?)?,
        partner_id: uuid(&r.try_get::<String, _>("partner_id")?)?,
        kind: stored(
            "commission_lines",
            &r.try_get::<String, _>("kind")?,
            Kind::parse,
        )?,
        currency: r.try_get("currency")?,
        amount: r.try_get("amount")?,
        basis: r.try_get("basis")?,
        rate_bps: i32::try_from(r.try_get::<i64, _>("rate_bps")?).unwrap_or_default(),
        order_id: r.try_get("order_id")?,
        line_id: r.try_get("line_id")?,
        category: r.try_get("category")?,
        explanation: r.try_get("explanation")?,
        payable_time: r.try_get("payable_time")?,
        statement_id: r.try_get("statement_id")?,
        create_time: r.try_get("create_time")?,
    })
}

/// Which ledger lines a list keeps.
#[derive(Debug, Default)]
pub(crate) struct LineFilter {
    pub kind: Option<Kind>,
    pub statement: Option<Uuid>,
}

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// A page of a partner's ledger, newest first.
pub(crate) async fn lines(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    filter: &LineFilter,
    page: &Page,
) -> Result<Vec<Line>> {
    let mut s = Select::new(
        format!(
            "SELECT {LINE_COLUMNS} FROM commission_lines WHERE tenant_id = $1 AND partner_id = $2"
        ),
        2,
    );
    if let Some(k) = filter.kind {
        let n = s.bind(BindValue::Text(k.as_str().into()));
        s.and(&format!("kind = ${n}"));
    }
    if let Some(st) = filter.statement {
        let n = s.bind(BindValue::Text(st.to_string()));
        s.and(&format!("statement_id = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST, "create_time", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(partner.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_line).collect()
}

/// The cursor after `l`.
pub(crate) fn line_cursor(l: &Line) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(l.create_time),
        CursorValue::Text(l.id.to_string()),
    ]
}

/// Every line of a statement, oldest first.
pub(crate) async fn statement_lines(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    statement: Uuid,
) -> Result<Vec<Line>> {
    let rows = sqlx::query(&format!(
        "SELECT {LINE_COLUMNS} FROM commission_lines WHERE tenant_id = $1 AND partner_id = $2 \
         AND statement_id = $3 ORDER BY create_time, id"
    ))
    .bind(tenant)
    .bind(partner.to_string())
    .bind(statement.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_line).collect()
}

/// Where a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementState {
    Draft,
    Approved,
    Paid,
}

impl StatementState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementState::Draft => "draft",
            StatementState::Approved => "approved",
            StatementState::Paid => "paid",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            StatementState::Draft,
            StatementState::Approved,
            StatementState::Paid,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What the doc column of a statement holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementDoc {
    pub totals: BTreeMap<String, i64>,
    pub approved_by: String,
    pub approve_time: i64,
    pub payment_reference: String,
    pub pay_time: i64,
}

/// A statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub month: String,
    pub state: StatementState,
    pub doc: StatementDoc,
    pub line_count: i64,
    pub create_time: i64,
    pub version: i64,
}

const STATEMENT_SELECT: &str = "SELECT partner_id, id, month, state, doc, line_count, \
     create_time, version FROM statements";

fn row_to_statement(r: &AnyRow) -> Result<Statement> {
    Ok(Statement {
        id: uuid(&r.try_get::<String, _>("id")?)?,
        partner_id: uuid(&r.try_get::<String, _>("partner_id")?)?,
        month: r.try_get("month")?,
        state: stored(
            "statements",
            &r.try_get::<String, _>("state")?,
            StatementState::parse,
        )?,
        doc: from_json("statements", &r.try_get::<String, _>("doc")?)?,
        line_count: r.try_get("line_count")?,
        create_time: r.try_get("create_time")?,
        version: r.try_get("version")?,
    })
}

/// Opens `partner`'s statement for `month` with id `id`: false when one exists already.
pub(crate) async fn open_statement(
    tx: &mut Tx,
    tenant: &str,
    partner: Uuid,
    id: Uuid,
    month: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO statements (tenant_id, partner_id, id, month, state, doc, line_count, \
         create_time, version) VALUES ($1, $2, $3, $4, 'draft', '{}', 0, $5, 1) \
         ON CONFLICT (tenant_id, partner_id, month) DO NOTHING",
    )
    .bind(tenant)
    .bind(partner.to_string())
    .bind(id.to_string())
    .bind(month)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts `partner`'s lines on no statement and payable before `end` onto `statement`.
pub(crate) async fn settle(
    tx: &mut Tx,
    tenant: &str,
    partner: Uuid,
    statement: Uuid,
    end: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE commission_lines SET statement_id = $3 WHERE tenant_id = $1 AND partner_id = $2 \
         AND statement_id = '' AND payable_time > 0 AND payable_time < $4",
    )
    .bind(tenant)
    .bind(partner.to_string())
    .bind(statement.to_string())
    .bind(end)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The net basis and amount of a statement's order lines, by currency: (basis, amount).
pub(crate) async fn statement_sums(
    tx: &mut Tx,
    tenant: &str,
    partner: Uuid,
    statement: Uuid,
) -> Result<Vec<(String, String, i64, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT kind, currency, CAST(SUM(basis) AS BIGINT) AS basis, \
         CAST(SUM(amount) AS BIGINT) AS amount, COUNT(*) AS n FROM commission_lines \
         WHERE tenant_id = $1 AND partner_id = $2 AND statement_id = $3 GROUP BY kind, currency",
    )
    .bind(tenant)
    .bind(partner.to_string())
    .bind(statement.to_string())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kind")?,
                r.try_get("currency")?,
                r.try_get("basis")?,
                r.try_get("amount")?,
                r.try_get("n")?,
            ))
        })
        .collect()
}

/// Rewrites a statement whose stored version is `expected`; false when it moved on.
pub(crate) async fn update_statement(
    tx: &mut Tx,
    tenant: &str,
    s: &Statement,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE statements SET state = $4, doc = $5, line_count = $6, version = $7 \
         WHERE tenant_id = $1 AND partner_id = $2 AND id = $3 AND version = $8",
    )
    .bind(tenant)
    .bind(s.partner_id.to_string())
    .bind(s.id.to_string())
    .bind(s.state.as_str())
    .bind(to_json(&s.doc)?)
    .bind(s.line_count)
    .bind(s.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A statement, locked when `lock` names the dialect.
pub(crate) async fn statement(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    id: Uuid,
    lock: Option<rapport_runtime::dialect::Dialect>,
) -> Result<Option<Statement>> {
    let row = sqlx::query(&format!(
        "{STATEMENT_SELECT} WHERE tenant_id = $1 AND partner_id = $2 AND id = $3{}",
        lock.map_or("", |d| d.for_update())
    ))
    .bind(tenant)
    .bind(partner.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(row_to_statement).transpose()
}

const NEWEST_MONTH: OrderBy = OrderBy::desc("month");

/// A page of a partner's statements, newest month first.
pub(crate) async fn statements(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    state: Option<StatementState>,
    page: &Page,
) -> Result<Vec<Statement>> {
    let mut s = Select::new(
        format!("{STATEMENT_SELECT} WHERE tenant_id = $1 AND partner_id = $2"),
        2,
    );
    if let Some(st) = state {
        let n = s.bind(BindValue::Text(st.as_str().into()));
        s.and(&format!("state = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST_MONTH, "month", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(partner.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(row_to_statement).collect()
}

/// The cursor after `s`.
pub(crate) fn statement_cursor(s: &Statement) -> Vec<CursorValue> {
    vec![
        CursorValue::Text(s.month.clone()),
        CursorValue::Text(s.id.to_string()),
    ]
}

/// (tenant, partner) pairs with lines on no statement payable before `end`, the end of
/// `month`, that have no statement for `month` yet.
pub(crate) async fn unsettled(
    conn: &mut AnyConnection,
    month: &str,
    end: i64,
) -> Result<Vec<(String, Uuid)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT l.tenant_id, l.partner_id FROM commission_lines l \
         WHERE l.statement_id = '' AND l.payable_time > 0 AND l.payable_time < $1 \
         AND NOT EXISTS (SELECT 1 FROM statements s WHERE s.tenant_id = l.tenant_id \
         AND s.partner_id = l.partner_id AND s.month = $2)",
    )
    .bind(end)
    .bind(month)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|(t, p)| Ok((t, uuid(&p)?))).collect()
}
