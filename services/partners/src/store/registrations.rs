//! Deal registrations and the keys they collide on.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, stored, to_json, uuid};
use crate::domain::registration::{Conflict, Registration, State};

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    contact_name: String,
    organization: String,
    phone: String,
    email: String,
    region: String,
    categories: Vec<String>,
    notes: String,
    rejection_reason: String,
    conflicts: Vec<Conflict>,
    approve_by: i64,
    decided_by: String,
}

const SELECT: &str = "SELECT r.id, r.partner_id, r.state, r.lead_id, r.doc, r.expire_time, \
     r.decide_time, r.create_time, r.update_time, r.version FROM registrations r";

fn row_to_registration(row: &AnyRow) -> Result<Registration> {
    let doc: Doc = from_json("registrations", &row.try_get::<String, _>("doc")?)?;
    let lead: String = row.try_get("lead_id")?;
    let expire: i64 = row.try_get("expire_time")?;
    let decided: i64 = row.try_get("decide_time")?;
    Ok(Registration {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        partner_id: uuid(&row.try_get::<String, _>("partner_id")?)?,
        contact_name: doc.contact_name,
        organization: doc.organization,
        phone: doc.phone,
        email: doc.email,
        region: doc.region,
        categories: doc.categories,
        notes: doc.notes,
        state: stored(
            "registrations",
            &row.try_get::<String, _>("state")?,
            State::parse,
        )?,
        rejection_reason: doc.rejection_reason,
        conflicts: doc.conflicts,
        lead_id: (!lead.is_empty()).then(|| uuid(&lead)).transpose()?,
        approve_by: doc.approve_by,
        expire_time: (expire > 0).then_some(expire),
        decided_by: doc.decided_by,
        decide_time: (decided > 0).then_some(decided),
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(r: &Registration) -> Result<String> {
    to_json(&Doc {
        contact_name: r.contact_name.clone(),
        organization: r.organization.clone(),
        phone: r.phone.clone(),
        email: r.email.clone(),
        region: r.region.clone(),
        categories: r.categories.clone(),
        notes: r.notes.clone(),
        rejection_reason: r.rejection_reason.clone(),
        conflicts: r.conflicts.clone(),
        approve_by: r.approve_by,
        decided_by: r.decided_by.clone(),
    })
}

fn lead(r: &Registration) -> String {
    r.lead_id.map(|l| l.to_string()).unwrap_or_default()
}

/// Inserts a registration with the keys it collides on.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, r: &Registration) -> Result<()> {
    sqlx::query(
        "INSERT INTO registrations (tenant_id, id, partner_id, state, lead_id, doc, \
         expire_time, decide_time, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant)
    .bind(r.id.to_string())
    .bind(r.partner_id.to_string())
    .bind(r.state.as_str())
    .bind(lead(r))
    .bind(doc(r)?)
    .bind(r.expire_time.unwrap_or(0))
    .bind(r.decide_time.unwrap_or(0))
    .bind(r.create_time)
    .bind(r.update_time)
    .bind(r.version)
    .execute(&mut **tx)
    .await?;
    for key in r.match_keys() {
        sqlx::query(
            "INSERT INTO registration_keys (tenant_id, match_key, registration_id) \
             VALUES ($1, $2, $3)",
        )
        .bind(tenant)
        .bind(key)
        .bind(r.id.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Rewrites a registration whose stored version is `expected` (its prospect never changes,
/// so neither do its keys); `false` when it moved on.
pub(crate) async fn update(
    tx: &mut Tx,
    tenant: &str,
    r: &Registration,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE registrations SET state = $3, lead_id = $4, doc = $5, expire_time = $6, \
         decide_time = $7, update_time = $8, version = $9 \
         WHERE tenant_id = $1 AND id = $2 AND version = $10",
    )
    .bind(tenant)
    .bind(r.id.to_string())
    .bind(r.state.as_str())
    .bind(lead(r))
    .bind(doc(r)?)
    .bind(r.expire_time.unwrap_or(0))
    .bind(r.decide_time.unwrap_or(0))
    .bind(r.update_time)
    .bind(r.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A registration by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Registration>> {
    one_by_id(conn, SELECT, "r.id", tenant, id, lock, row_to_registration).await
}

/// The registrations sharing any of `keys`, at most 50.
pub(crate) async fn sharing(
    conn: &mut AnyConnection,
    tenant: &str,
    keys: &[String],
) -> Result<Vec<Registration>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.id IN (SELECT k.registration_id FROM \
         registration_keys k WHERE k.tenant_id = $1 AND k.match_key IN ({})) \
         ORDER BY r.create_time, r.id LIMIT 50",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(tenant);
    for k in keys {
        q = q.bind(k.as_str());
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(row_to_registration).collect()
}

/// Which registrations a list keeps.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub partner: Option<Uuid>,
    pub state: Option<State>,
}

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// A page of registrations, newest first.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Registration>> {
    let mut s = Select::new(format!("{SELECT} WHERE r.tenant_id = $1"), 1);
    if let Some(p) = filter.partner {
        let n = s.bind(BindValue::Text(p.to_string()));
        s.and(&format!("r.partner_id = ${n}"));
    }
    if let Some(state) = filter.state {
        let n = s.bind(BindValue::Text(state.as_str().into()));
        s.and(&format!("r.state = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &NEWEST, "r.create_time", "r.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_registration).collect()
}

/// The cursor after `r`.
pub(crate) fn cursor_of(r: &Registration) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(r.create_time),
        CursorValue::Text(r.id.to_string()),
    ]
}

/// The registration whose lead is `lead`, locked.
pub(crate) async fn by_lead(tx: &mut Tx, tenant: &str, lead: Uuid) -> Result<Option<Registration>> {
    let lock = tx.dialect().for_update_of("r");
    let row = sqlx::query(&format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.lead_id = $2{lock}"
    ))
    .bind(tenant)
    .bind(lead.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(row_to_registration).transpose()
}

/// Tenants with approved registrations expired at `now`.
pub(crate) async fn tenants_expiring(conn: &mut AnyConnection, now: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM registrations \
         WHERE state = 'approved' AND expire_time <= $1",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// Up to 100 of `tenant`'s approved registrations expired at `now`, locked, skipping those
/// another transaction holds (the lapse sweep's batch).
pub(crate) async fn lock_expired(tx: &mut Tx, tenant: &str, now: i64) -> Result<Vec<Registration>> {
    let sql = format!(
        "{SELECT} WHERE r.tenant_id = $1 AND r.state = 'approved' AND r.expire_time <= $2 \
         ORDER BY r.expire_time, r.id LIMIT 100{}",
        tx.dialect().for_update_skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(row_to_registration).collect()
}

/// The numbers of one partner's registrations decided since `since`: (decided, approved,
/// converted).
pub(crate) async fn decided_since(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    since: i64,
) -> Result<(i64, i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS decided, \
         COALESCE(SUM(CASE WHEN state <> 'rejected' THEN 1 ELSE 0 END), 0) AS approved, \
         COALESCE(SUM(CASE WHEN state = 'converted' THEN 1 ELSE 0 END), 0) AS converted \
         FROM registrations WHERE tenant_id = $1 AND partner_id = $2 AND decide_time >= $3 \
         AND decide_time > 0",
    )
    .bind(tenant)
    .bind(partner.to_string())
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok((
        row.try_get("decided")?,
        row.try_get("approved")?,
        row.try_get("converted")?,
    ))
}
