//! Opportunities and their stage history. Every write of a stage change also counts it in the
//! funnel (`analytics::count_change`), in the same transaction.

use rapport_kit::{
    names,
    query::{CursorValue, FieldSpec, ListQuery, OrderBy, Select},
};
use rapport_runtime::storage::one_by_id;
use rapport_runtime::{Error, Result, clock::Micros, storage::Tx, storage::bind_all};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{analytics, pipelines, uuid};
use crate::domain::{
    opportunity::{Money, Opportunity, StageChange, State},
    pipeline::pipeline_name,
    visibility::Scope,
};

const COLUMNS: &str = "o.id, o.display_name, o.lead_id, o.customer_id, o.pipeline_id, o.stage, \
     o.state, o.currency_code, o.amount_minor, o.expected_close, o.owner_id, o.team_id, o.source, \
     o.stage_enter_time, o.close_time, o.lost_reason, o.dwell_alert, o.create_time, o.update_time, \
     o.version";

/// Fields ListOpportunities filters on (the subset documented on ListOpportunitiesRequest).
pub(crate) const FILTER_FIELDS: &[FieldSpec] = &[
    FieldSpec::text("display_name", "o.display_name"),
    FieldSpec::exists("pipeline", "o.pipeline_id = {}", Some(pipeline_filter)),
    FieldSpec::text("stage", "o.stage"),
    FieldSpec::enumeration("state", "o.state", State::NAMES),
    FieldSpec::text("owner_id", "o.owner_id"),
    FieldSpec::text("team_id", "o.team_id"),
    FieldSpec::enumeration(
        "source",
        "o.source",
        &[
            "FORM", "IMPORT", "PARTNER", "CAMPAIGN", "MANUAL", "WALK_IN", "REFERRAL",
        ],
    ),
    FieldSpec::exists("lead", "o.lead_id = {}", Some(lead_filter)),
    FieldSpec::exists("customer", "o.customer_id = {}", Some(customer_filter)),
    FieldSpec::timestamp("create_time", "o.create_time"),
    FieldSpec::timestamp("close_time", "o.close_time"),
    FieldSpec::timestamp("stage_enter_time", "o.stage_enter_time"),
];

fn pipeline_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_key("pipelines", v).map(str::to_owned)
}

fn lead_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("leads", v).map(|id| id.to_string())
}

fn customer_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id("customers", v).map(|id| id.to_string())
}

fn optional_uuid(text: String) -> Result<Option<Uuid>> {
    if text.is_empty() {
        Ok(None)
    } else {
        uuid(&text).map(Some)
    }
}

fn row_to_opportunity(row: &AnyRow) -> Result<Opportunity> {
    let currency: String = row.try_get("currency_code")?;
    let expected: String = row.try_get("expected_close")?;
    let state: String = row.try_get("state")?;
    Ok(Opportunity {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        lead_id: optional_uuid(row.try_get("lead_id")?)?,
        customer_id: optional_uuid(row.try_get("customer_id")?)?,
        pipeline_id: row.try_get("pipeline_id")?,
        stage: row.try_get("stage")?,
        state: State::parse(&state)
            .ok_or_else(|| Error::internal(format!("bad opportunity state {state:?}")))?,
        amount: (!currency.is_empty())
            .then(|| -> Result<Money> {
                Ok(Money {
                    currency_code: currency.clone(),
                    minor_units: row.try_get("amount_minor")?,
                })
            })
            .transpose()?,
        expected_close: if expected.is_empty() {
            None
        } else {
            Some(
                time::Date::parse(
                    &expected,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .map_err(Error::internal)?,
            )
        },
        owner_id: row.try_get("owner_id")?,
        team_id: row.try_get("team_id")?,
        source: row.try_get("source")?,
        stage_enter_time: row.try_get("stage_enter_time")?,
        close_time: row.try_get("close_time")?,
        lost_reason: row.try_get("lost_reason")?,
        dwell_alert: row.try_get("dwell_alert")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// `YYYY-MM-DD`, as the expected close date is stored (and compared as text).
pub(crate) fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The values of the columns an update may change, in the order of [`bind_changes`].
const CHANGED: &str = "display_name = $3, stage = $4, state = $5, currency_code = $6, \
     amount_minor = $7, expected_close = $8, stage_enter_time = $9, close_time = $10, \
     lost_reason = $11, dwell_alert = $12, update_time = $13, version = $14";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_changes<'q>(q: AnyQuery<'q>, o: &'q Opportunity, expected: &'q str) -> AnyQuery<'q> {
    let (currency, amount) = match &o.amount {
        Some(m) => (m.currency_code.as_str(), m.minor_units),
        None => ("", 0),
    };
    q.bind(o.display_name.as_str())
        .bind(o.stage.as_str())
        .bind(o.state.as_str())
        .bind(currency)
        .bind(amount)
        .bind(expected)
        .bind(o.stage_enter_time)
        .bind(o.close_time)
        .bind(o.lost_reason.as_str())
        .bind(o.dwell_alert)
        .bind(o.update_time)
        .bind(o.version)
}

/// Stores a new opportunity.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, o: &Opportunity) -> Result<()> {
    let expected = o.expected_close.map(date_text).unwrap_or_default();
    let sql = "INSERT INTO opportunities (tenant_id, id, display_name, stage, state, currency_code, \
         amount_minor, expected_close, stage_enter_time, close_time, lost_reason, dwell_alert, \
         update_time, version, lead_id, customer_id, pipeline_id, owner_id, team_id, source, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)";
    let id = o.id.to_string();
    let lead = o.lead_id.map(|l| l.to_string()).unwrap_or_default();
    let customer = o.customer_id.map(|c| c.to_string()).unwrap_or_default();
    bind_changes(
        sqlx::query(sql).bind(tenant).bind(id.as_str()),
        o,
        &expected,
    )
    .bind(lead.as_str())
    .bind(customer.as_str())
    .bind(o.pipeline_id.as_str())
    .bind(o.owner_id.as_str())
    .bind(o.team_id.as_str())
    .bind(o.source.as_str())
    .bind(o.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites an opportunity whose stored version is `expected_version`; `false` when it moved on.
pub(crate) async fn update(
    tx: &mut Tx,
    tenant: &str,
    o: &Opportunity,
    expected_version: i64,
) -> Result<bool> {
    let expected = o.expected_close.map(date_text).unwrap_or_default();
    let sql = format!(
        "UPDATE opportunities SET {CHANGED} WHERE tenant_id = $1 AND id = $2 AND version = $15"
    );
    let id = o.id.to_string();
    let done = bind_changes(
        sqlx::query(&sql).bind(tenant).bind(id.as_str()),
        o,
        &expected,
    )
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `o` (locked, at `expected_version`) its new owner and team; `false` when it moved on.
/// The dwell alert starts over, so the new owner is told when the deal stalls.
pub(crate) async fn set_owner(
    tx: &mut Tx,
    tenant: &str,
    o: &Opportunity,
    expected_version: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE opportunities SET owner_id = $3, team_id = $4, dwell_alert = $5, \
         update_time = $6, version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8",
    )
    .bind(tenant)
    .bind(o.id.to_string())
    .bind(o.owner_id.as_str())
    .bind(o.team_id.as_str())
    .bind(o.dwell_alert)
    .bind(o.update_time)
    .bind(o.version)
    .bind(expected_version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The open opportunities `owner` holds, locked, oldest first.
pub(crate) async fn lock_open_owned_by(
    tx: &mut Tx,
    tenant: &str,
    owner: &str,
) -> Result<Vec<Opportunity>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM opportunities o WHERE o.tenant_id = $1 AND o.owner_id = $2 \
         AND o.state = 'OPEN' ORDER BY o.create_time, o.id{}",
        tx.dialect().for_update()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(owner)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_opportunity).collect()
}

/// An opportunity by id.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Opportunity>> {
    one_by_id(
        conn,
        &select(),
        "o.id",
        tenant,
        id,
        None,
        row_to_opportunity,
    )
    .await
}

/// An opportunity by id, locked for the rest of the transaction.
pub(crate) async fn lock(tx: &mut Tx, tenant: &str, id: Uuid) -> Result<Option<Opportunity>> {
    let dialect = tx.dialect();
    one_by_id(
        tx,
        &select(),
        "o.id",
        tenant,
        id,
        Some(dialect),
        row_to_opportunity,
    )
    .await
}

/// Records a stage change and counts it in the funnel. Call it before the opportunity's row
/// shows the new stage: whether this is the first entry into `to_stage` is read from the history.
pub(crate) async fn insert_stage_change(tx: &mut Tx, tenant: &str, c: &StageChange) -> Result<()> {
    let first_entry = sqlx::query(
        "SELECT 1 FROM stage_changes WHERE tenant_id = $1 AND opportunity_id = $2 AND to_stage = $3 LIMIT 1",
    )
    .bind(tenant)
    .bind(c.opportunity_id.to_string())
    .bind(c.to_stage.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .is_none();
    sqlx::query(
        "INSERT INTO stage_changes (tenant_id, opportunity_id, id, pipeline_id, from_stage, to_stage, \
         dwell_micros, actor, owner_id, team_id, source, opportunity_create_time, create_time, \
         first_entry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tenant)
    .bind(c.opportunity_id.to_string())
    .bind(c.id.to_string())
    .bind(c.pipeline_id.as_str())
    .bind(c.from_stage.as_str())
    .bind(c.to_stage.as_str())
    .bind(c.dwell)
    .bind(c.actor.as_str())
    .bind(c.owner_id.as_str())
    .bind(c.team_id.as_str())
    .bind(c.source.as_str())
    .bind(c.opportunity_create_time)
    .bind(c.create_time)
    .bind(i64::from(first_entry))
    .execute(&mut **tx)
    .await?;
    analytics::count_change(tx, tenant, c, first_entry).await
}

/// A page of an opportunity's stage changes after `after` ([create_time, id]), oldest first.
pub(crate) async fn list_stage_changes(
    conn: &mut AnyConnection,
    tenant: &str,
    opportunity: Uuid,
    after: &[CursorValue],
    limit: u32,
) -> Result<Vec<StageChange>> {
    let s = Select::new(
        "SELECT id, opportunity_id, pipeline_id, from_stage, to_stage, dwell_micros, actor, \
         owner_id, team_id, source, opportunity_create_time, create_time FROM stage_changes \
         WHERE tenant_id = $1 AND opportunity_id = $2",
        2,
    );
    let order = OrderBy::asc("create_time");
    let (sql, binds) = s.page(&order, after, "create_time", "id", limit)?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(opportunity.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StageChange {
                id: uuid(&r.try_get::<String, _>(0)?)?,
                opportunity_id: uuid(&r.try_get::<String, _>(1)?)?,
                pipeline_id: r.try_get(2)?,
                from_stage: r.try_get(3)?,
                to_stage: r.try_get(4)?,
                dwell: r.try_get(5)?,
                actor: r.try_get(6)?,
                owner_id: r.try_get(7)?,
                team_id: r.try_get(8)?,
                source: r.try_get(9)?,
                opportunity_create_time: r.try_get(10)?,
                create_time: r.try_get(11)?,
            })
        })
        .collect()
}

/// The column an order field sorts on.
pub(crate) fn sort_column(field: &str) -> &'static str {
    match field {
        "update_time" => "o.update_time",
        "stage_enter_time" => "o.stage_enter_time",
        _ => "o.create_time",
    }
}

/// The cursor after `o` in `order`.
pub(crate) fn cursor_of(o: &Opportunity, order: &OrderBy) -> Vec<CursorValue> {
    let key = match order.field {
        "update_time" => o.update_time,
        "stage_enter_time" => o.stage_enter_time,
        _ => o.create_time,
    };
    vec![CursorValue::Int(key), CursorValue::Text(o.id.to_string())]
}

/// A page of opportunities.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
    scope: &Scope,
) -> Result<Vec<Opportunity>> {
    let mut s = Select::filtered(
        format!("SELECT {COLUMNS} FROM opportunities o WHERE o.tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    s.and_visible(scope, "o.owner_id", "o.team_id");
    let (sql, binds) = s.list(q, sort_column(q.order.field), "o.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_opportunity).collect()
}

/// The source of a live lead of the tenant, `None` when there is no such lead.
pub(crate) async fn lead_source(
    conn: &mut AnyConnection,
    tenant: &str,
    lead: Uuid,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT source FROM leads WHERE tenant_id = $1 AND id = $2 AND delete_time IS NULL",
    )
    .bind(tenant)
    .bind(lead.to_string())
    .fetch_optional(conn)
    .await?)
}

/// The team of rep `rep`, if the organization knows the rep.
pub(crate) async fn rep_team(
    conn: &mut AnyConnection,
    tenant: &str,
    rep: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT team_id FROM reps WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(rep)
            .fetch_optional(conn)
            .await?,
    )
}

/// Marks a lead won (its opportunity was won); a won lead no longer counts against its owner's
/// capacity, and is never reclaimed.
pub(crate) async fn mark_lead_won(
    tx: &mut Tx,
    tenant: &str,
    lead: Uuid,
    now: Micros,
) -> Result<()> {
    let owner: Option<String> = sqlx::query_scalar(
        "UPDATE leads SET won = 1, update_time = $3, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2 AND won = 0 RETURNING owner_id",
    )
    .bind(tenant)
    .bind(lead.to_string())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(owner) = owner.filter(|o| !o.is_empty()) {
        sqlx::query(
            "UPDATE reps SET open_leads = open_leads - 1 \
             WHERE tenant_id = $1 AND id = $2 AND open_leads > 0",
        )
        .bind(tenant)
        .bind(owner)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// What a new opportunity is made of. CreateOpportunity and ConvertLead both build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewOpportunity {
    /// 1..200 characters, checked by the caller.
    pub display_name: String,
    /// The lead it comes from (checked by the caller to exist).
    pub lead_id: Option<Uuid>,
    /// `customers/{id}` of the customer it is for, or empty.
    pub customer: String,
    /// The key after "pipelines/".
    pub pipeline_id: String,
    pub amount: Option<Money>,
    pub expected_close_date: Option<time::Date>,
    pub owner_id: String,
    pub team_id: String,
    /// The lead's source (`FORM`, …), or empty.
    pub source: String,
}

/// Creates an opportunity in the first stage of its pipeline (the built-in example included)
/// and records the entry as its first stage change, counted in the funnel. INVALID_ARGUMENT on
/// `opportunity.pipeline` when the tenant has no such pipeline, on `opportunity.customer` when
/// it is not a customer name. The caller emits `opportunity.created`
/// (`api::opportunities::emit`).
pub(crate) async fn create_opportunity(
    tx: &mut Tx,
    tenant: &str,
    new: &NewOpportunity,
    actor: &str,
    now: Micros,
) -> Result<Opportunity> {
    let customer_id = if new.customer.is_empty() {
        None
    } else {
        Some(
            names::parse_id("customers", &new.customer)
                .map_err(|e| Error::invalid("opportunity.customer", e))?,
        )
    };
    pipelines::lock(tx, tenant, &new.pipeline_id, false).await?;
    let pipeline = pipelines::get(tx, tenant, &new.pipeline_id).await?;
    let Some(first) = pipeline.as_ref().and_then(|p| p.first_stage()) else {
        return Err(Error::invalid(
            "opportunity.pipeline",
            format!("{} does not exist", pipeline_name(&new.pipeline_id)),
        ));
    };
    let o = Opportunity {
        id: Uuid::now_v7(),
        display_name: new.display_name.clone(),
        lead_id: new.lead_id,
        customer_id,
        pipeline_id: new.pipeline_id.clone(),
        stage: first.id.clone(),
        state: State::Open,
        amount: new.amount.clone(),
        expected_close: new.expected_close_date,
        owner_id: new.owner_id.clone(),
        team_id: new.team_id.clone(),
        source: new.source.clone(),
        stage_enter_time: now,
        close_time: None,
        lost_reason: String::new(),
        dwell_alert: 0,
        create_time: now,
        update_time: now,
        version: 1,
    };
    insert(tx, tenant, &o).await?;
    insert_stage_change(tx, tenant, &o.first_change(actor)).await?;
    Ok(o)
}

/// The select of the columns of a row.
fn select() -> String {
    format!("SELECT {COLUMNS} FROM opportunities o")
}
