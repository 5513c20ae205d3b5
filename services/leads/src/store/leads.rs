//! Leads, their assignment history and claim cool-downs.

use rapport_kit::query::{CursorValue, FieldSpec, ListQuery, Select};
use rapport_runtime::storage::one_by_id;
use rapport_runtime::{
    Error, Result,
    clock::Micros,
    dialect::Dialect,
    storage::bind_all,
    storage::{Statement, bool_int},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::uuid;
use crate::domain::{
    duplicates::{Match, shared},
    lead::{Attribution, Intent, Lead, LeadInput, Source, State},
    visibility::Scope,
};

pub(crate) const COLUMNS: &str = "id, display_name, phone, email, source, campaign_id, partner_id, channel, \
    referrer, needs, region, language, state, unqualified_reason, owner_id, team_id, pool, locked, \
    behavior_points, follow_up_count, score, intent, recall, call_flag, assign_time, \
    last_follow_up_time, state_change_time, customer_id, opportunity_id, won, create_time, \
    update_time, delete_time, version, possible_duplicates";

/// Fields ListLeads filters on.
pub const FILTER_FIELDS: &[FieldSpec] = &[
    FieldSpec::search("display_name", "search_text"),
    FieldSpec::text("phone", "phone"),
    FieldSpec::text("email", "email"),
    FieldSpec::enumeration(
        "state",
        "state",
        &["NEW", "CONTACTING", "QUALIFIED", "UNQUALIFIED", "CONVERTED"],
    ),
    FieldSpec::enumeration(
        "source",
        "source",
        &[
            "FORM", "IMPORT", "PARTNER", "CAMPAIGN", "MANUAL", "WALK_IN", "REFERRAL",
        ],
    ),
    FieldSpec::text("owner_id", "owner_id"),
    FieldSpec::text("pool", "pool"),
    FieldSpec::text("region", "region"),
    FieldSpec::text("language", "language"),
    FieldSpec::enumeration("intent", "intent", &["LOW", "MEDIUM", "HIGH"]),
    FieldSpec::boolean("locked", "locked"),
    FieldSpec::boolean("recall", "recall"),
    FieldSpec::boolean("call_flag", "call_flag"),
    FieldSpec::int("score", "score"),
    FieldSpec::timestamp("create_time", "create_time"),
    FieldSpec::timestamp("update_time", "update_time"),
    FieldSpec::timestamp("assign_time", "assign_time"),
    FieldSpec::timestamp("last_follow_up_time", "last_follow_up_time"),
];

/// The column an order field sorts on.
pub fn sort_column(field: &str) -> &'static str {
    match field {
        "display_name" => "display_name",
        "update_time" => "update_time",
        "score" => "score",
        _ => "create_time",
    }
}

/// The cursor of `lead` in `field`'s order.
pub fn cursor_of(lead: &Lead, field: &str) -> Vec<CursorValue> {
    let key = match field {
        "display_name" => CursorValue::Text(lead.input.display_name.clone()),
        "update_time" => CursorValue::Int(lead.update_time),
        "score" => CursorValue::Int(lead.score),
        _ => CursorValue::Int(lead.create_time),
    };
    vec![key, CursorValue::Text(lead.id.to_string())]
}

/// Stores a new lead.
pub async fn insert_lead(conn: &mut AnyConnection, tenant: &str, lead: &Lead) -> Result<()> {
    let sql = format!(
        "INSERT INTO leads (tenant_id, search_text, {COLUMNS}) VALUES ($1, $2, {})",
        super::placeholders(3, 35)
    );
    bind_lead(Statement::new(sql).bind(tenant), lead)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rewrites a lead (the caller holds its row lock).
pub async fn update_lead(conn: &mut AnyConnection, tenant: &str, lead: &Lead) -> Result<()> {
    update_lead_statement(tenant, lead).execute(conn).await?;
    Ok(())
}

/// The statement of [`update_lead`], for a write to defer.
pub fn update_lead_statement(tenant: &str, lead: &Lead) -> Statement {
    // Placeholders as in insert_lead: $2 search_text, then COLUMNS from $3 ($3 is the id).
    let sets: Vec<String> = COLUMNS
        .split(", ")
        .enumerate()
        .filter(|(_, c)| *c != "id")
        .map(|(i, c)| format!("{c} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE leads SET search_text = $2, {} WHERE tenant_id = $1 AND id = $3",
        sets.join(", ")
    );
    bind_lead(Statement::new(sql).bind(tenant), lead)
}

fn bind_lead(s: Statement, l: &Lead) -> Statement {
    let i = &l.input;
    s.bind(crate::domain::lead::search_text(&i.display_name))
        .bind(l.id.to_string())
        .bind(&i.display_name)
        .bind(&i.phone)
        .bind(&i.email)
        .bind(i.source.as_str())
        .bind(&i.attribution.campaign_id)
        .bind(&i.attribution.partner_id)
        .bind(&i.attribution.channel)
        .bind(&i.attribution.referrer)
        .bind(serde_json::to_string(&i.needs).unwrap_or_else(|_| "{}".into()))
        .bind(&i.region)
        .bind(&i.language)
        .bind(l.state.as_str())
        .bind(&l.unqualified_reason)
        .bind(&l.owner_id)
        .bind(&l.team_id)
        .bind(&i.pool)
        .bind(bool_int(l.locked))
        .bind(l.behavior_points)
        .bind(l.follow_up_count)
        .bind(l.score)
        .bind(l.intent.as_str())
        .bind(bool_int(l.recall))
        .bind(bool_int(l.call_flag))
        .bind(l.assign_time)
        .bind(l.last_follow_up_time)
        .bind(l.state_change_time)
        .bind(&l.customer_id)
        .bind(&l.opportunity_id)
        .bind(bool_int(l.won))
        .bind(l.create_time)
        .bind(l.update_time)
        .bind(l.delete_time)
        .bind(l.version)
        .bind(ids_json(&l.possible_duplicates))
}

/// Ids as the JSON array of their text forms stored in a column.
fn ids_json(ids: &[Uuid]) -> String {
    let texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    serde_json::to_string(&texts).unwrap_or_else(|_| "[]".into())
}

/// Holders found per lookup at most; a phone held by more open leads than this is flagged
/// with the oldest.
const MAX_HOLDERS: usize = 20;

/// The open leads (live, not converted) other than `except` holding `input`'s phone or email,
/// oldest first.
pub async fn find_holders(
    conn: &mut AnyConnection,
    tenant: &str,
    input: &LeadInput,
    except: Option<Uuid>,
) -> Result<Vec<Match>> {
    if input.phone.is_empty() && input.email.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, display_name, owner_id, team_id, phone, email FROM leads \
         WHERE tenant_id = $1 AND delete_time IS NULL AND state <> 'CONVERTED' AND id <> $4 \
         AND ((phone = $2 AND $2 <> '') OR (email = $3 AND $3 <> '')) \
         ORDER BY create_time, id LIMIT {MAX_HOLDERS}"
    );
    let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(&sql)
        .bind(tenant)
        .bind(&input.phone)
        .bind(&input.email)
        .bind(except.map(|id| id.to_string()).unwrap_or_default())
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|(id, display_name, owner_id, team_id, phone, email)| {
            Ok(Match::new(
                uuid(&id)?,
                display_name,
                owner_id,
                team_id,
                shared(input, &phone, &email),
            ))
        })
        .collect()
}

/// A lead by id.
pub async fn get_lead(conn: &mut AnyConnection, tenant: &str, id: Uuid) -> Result<Option<Lead>> {
    one_by_id(conn, &select(), "id", tenant, id, None, row_to_lead).await
}

/// A lead by id, locked until the transaction ends.
pub async fn lock_lead(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Lead>> {
    one_by_id(
        conn,
        &select(),
        "id",
        tenant,
        id,
        Some(dialect),
        row_to_lead,
    )
    .await
}

/// Leads of `tenant` owned by `owner`, locked.
pub async fn lock_owned_by(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    owner: &str,
) -> Result<Vec<Lead>> {
    lock_live_where(conn, dialect, tenant, "owner_id", owner, "create_time, id").await
}

/// Moves the leads and open opportunities `owner` holds to `team` (the rep changed team).
pub async fn move_owned_to_team(
    conn: &mut AnyConnection,
    tenant: &str,
    owner: &str,
    team: &str,
) -> Result<()> {
    for sql in [
        "UPDATE leads SET team_id = $3 WHERE tenant_id = $1 AND owner_id = $2 AND team_id <> $3",
        "UPDATE opportunities SET team_id = $3 WHERE tenant_id = $1 AND owner_id = $2 \
         AND state = 'OPEN' AND team_id <> $3",
    ] {
        sqlx::query(sql)
            .bind(tenant)
            .bind(owner)
            .bind(team)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Live leads linked to `customer` (for follow-ups recorded on the customer's timeline).
pub async fn leads_of_customer(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    customer: &str,
) -> Result<Vec<Lead>> {
    lock_live_where(conn, dialect, tenant, "customer_id", customer, "id").await
}

/// Live leads whose `column` equals `value`, in `order`, locked.
async fn lock_live_where(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    column: &'static str,
    value: &str,
    order: &'static str,
) -> Result<Vec<Lead>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM leads WHERE tenant_id = $1 AND {column} = $2 \
         AND delete_time IS NULL ORDER BY {order}{}",
        dialect.for_update()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(value)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_lead).collect()
}

/// Re-points leads from merged customers to the survivor; returns how many changed.
pub async fn repoint_customers(
    conn: &mut AnyConnection,
    tenant: &str,
    merged: &[String],
    survivor: &str,
    now: Micros,
) -> Result<u64> {
    if merged.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "UPDATE leads SET customer_id = $2, update_time = $3, version = version + 1 \
         WHERE tenant_id = $1 AND customer_id IN ({})",
        super::placeholders(4, merged.len())
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(survivor).bind(now);
    for m in merged {
        q = q.bind(m);
    }
    Ok(q.execute(conn).await?.rows_affected())
}

/// One page of leads.
pub async fn list_leads(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
    scope: &Scope,
    show_deleted: bool,
) -> Result<Vec<Lead>> {
    let mut s = Select::filtered(
        format!("SELECT {COLUMNS} FROM leads WHERE tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    if !show_deleted {
        s.and("delete_time IS NULL");
    }
    // Leads in a public pool (no owner) are visible to everyone.
    s.and_visible_or(scope, "owner_id", "team_id", "owner_id = ''");
    let (sql, binds) = s.list(q, sort_column(q.order.field), "id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_lead).collect()
}

/// Reads a lead row selected with `COLUMNS`.
pub fn row_to_lead(r: &AnyRow) -> Result<Lead> {
    let text = |c: &str| r.try_get::<String, _>(c);
    let bad = |what: &str, v: String| Error::internal(format!("bad {what} in database: {v}"));
    let needs: String = text("needs")?;
    Ok(Lead {
        id: uuid(&text("id")?)?,
        input: LeadInput {
            display_name: text("display_name")?,
            phone: text("phone")?,
            email: text("email")?,
            source: Source::parse(&text("source")?)
                .ok_or_else(|| bad("source", text("source").unwrap_or_default()))?,
            attribution: Attribution {
                campaign_id: text("campaign_id")?,
                partner_id: text("partner_id")?,
                channel: text("channel")?,
                referrer: text("referrer")?,
            },
            needs: serde_json::from_str(&needs).map_err(|e| bad("needs", e.to_string()))?,
            region: text("region")?,
            language: text("language")?,
            pool: text("pool")?,
        },
        state: State::parse(&text("state")?)
            .ok_or_else(|| bad("state", text("state").unwrap_or_default()))?,
        unqualified_reason: text("unqualified_reason")?,
        owner_id: text("owner_id")?,
        team_id: text("team_id")?,
        locked: r.try_get::<i64, _>("locked")? != 0,
        behavior_points: r.try_get("behavior_points")?,
        follow_up_count: r.try_get("follow_up_count")?,
        score: r.try_get("score")?,
        intent: Intent::parse(&text("intent")?).unwrap_or(Intent::Low),
        recall: r.try_get::<i64, _>("recall")? != 0,
        call_flag: r.try_get::<i64, _>("call_flag")? != 0,
        assign_time: r.try_get("assign_time")?,
        last_follow_up_time: r.try_get("last_follow_up_time")?,
        state_change_time: r.try_get("state_change_time")?,
        customer_id: text("customer_id")?,
        opportunity_id: text("opportunity_id")?,
        won: r.try_get::<i64, _>("won")? != 0,
        create_time: r.try_get("create_time")?,
        update_time: r.try_get("update_time")?,
        delete_time: r.try_get("delete_time")?,
        version: r.try_get("version")?,
        possible_duplicates: serde_json::from_str::<Vec<String>>(&text("possible_duplicates")?)
            .map_err(|e| bad("possible_duplicates", e.to_string()))?
            .iter()
            .map(|id| uuid(id))
            .collect::<Result<_>>()?,
    })
}

/// A change of owner, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub rep_id: String,
    pub previous_owner_id: String,
    pub kind: &'static str,
    pub reason: String,
    pub actor: String,
    pub create_time: Micros,
}

/// Records changes of owner.
pub async fn insert_assignments(
    conn: &mut AnyConnection,
    tenant: &str,
    rows: &[AssignmentRow],
) -> Result<()> {
    for s in assignment_statements(tenant, rows) {
        s.execute(conn).await?;
    }
    Ok(())
}

/// The statements of [`insert_assignments`], for a write to defer.
pub fn assignment_statements(tenant: &str, rows: &[AssignmentRow]) -> Vec<Statement> {
    // 9 columns; 500 rows per statement stays under every bind limit.
    rows.chunks(500)
        .map(|chunk| {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, {})", super::placeholders(2 + i * 8, 8)))
                .collect();
            let sql = format!(
                "INSERT INTO lead_assignments (tenant_id, lead_id, id, rep_id, previous_owner_id, \
                 kind, reason, actor, create_time) VALUES {}",
                values.join(", ")
            );
            chunk.iter().fold(Statement::new(sql).bind(tenant), |s, a| {
                s.bind(a.lead_id.to_string())
                    .bind(a.id.to_string())
                    .bind(&a.rep_id)
                    .bind(&a.previous_owner_id)
                    .bind(a.kind)
                    .bind(&a.reason)
                    .bind(&a.actor)
                    .bind(a.create_time)
            })
        })
        .collect()
}

/// A page of a lead's assignments, newest first, after `after` ([create_time, id]).
pub async fn list_assignments(
    conn: &mut AnyConnection,
    tenant: &str,
    lead: Uuid,
    after: &[CursorValue],
    limit: u32,
) -> Result<Vec<AssignmentRow>> {
    let mut sql = "SELECT id, rep_id, previous_owner_id, kind, reason, actor, create_time \
                   FROM lead_assignments WHERE tenant_id = $1 AND lead_id = $2"
        .to_owned();
    if let [CursorValue::Int(t), CursorValue::Text(id)] = after {
        sql.push_str(&format!(
            " AND (create_time < {t} OR (create_time = {t} AND id < $3))"
        ));
        sql.push_str(&format!(
            " ORDER BY create_time DESC, id DESC LIMIT {limit}"
        ));
        let rows = sqlx::query(&sql)
            .bind(tenant)
            .bind(lead.to_string())
            .bind(id)
            .fetch_all(conn)
            .await?;
        return rows.iter().map(|r| row_to_assignment(r, lead)).collect();
    }
    sql.push_str(&format!(
        " ORDER BY create_time DESC, id DESC LIMIT {limit}"
    ));
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(lead.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| row_to_assignment(r, lead)).collect()
}

fn row_to_assignment(r: &AnyRow, lead: Uuid) -> Result<AssignmentRow> {
    let kind: String = r.try_get("kind")?;
    Ok(AssignmentRow {
        id: uuid(&r.try_get::<String, _>("id")?)?,
        lead_id: lead,
        rep_id: r.try_get("rep_id")?,
        previous_owner_id: r.try_get("previous_owner_id")?,
        kind: crate::domain::assignment_kind::parse(&kind)
            .ok_or_else(|| Error::internal(format!("bad assignment kind {kind}")))?,
        reason: r.try_get("reason")?,
        actor: r.try_get("actor")?,
        create_time: r.try_get("create_time")?,
    })
}

/// Keeps `rep` from claiming `lead` back before `until`.
pub async fn set_cooldowns(
    conn: &mut AnyConnection,
    tenant: &str,
    entries: &[(Uuid, String)],
    until: Micros,
) -> Result<()> {
    for chunk in entries.chunks(1000) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, $2)", 3 + i * 2, 4 + i * 2))
            .collect();
        let sql = format!(
            "INSERT INTO lead_cooldowns (tenant_id, lead_id, rep_id, until) VALUES {} \
             ON CONFLICT (tenant_id, lead_id, rep_id) DO UPDATE SET until = excluded.until",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(tenant).bind(until);
        for (lead, rep) in chunk {
            q = q.bind(lead.to_string()).bind(rep);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Until when `rep` may not claim `lead`, if a cool-down is set.
pub async fn cooldown_until(
    conn: &mut AnyConnection,
    tenant: &str,
    lead: Uuid,
    rep: &str,
) -> Result<Option<Micros>> {
    Ok(sqlx::query_scalar(
        "SELECT until FROM lead_cooldowns WHERE tenant_id = $1 AND lead_id = $2 AND rep_id = $3",
    )
    .bind(tenant)
    .bind(lead.to_string())
    .bind(rep)
    .fetch_optional(conn)
    .await?)
}

/// The select of the columns of a row.
fn select() -> String {
    format!("SELECT {COLUMNS} FROM leads")
}
