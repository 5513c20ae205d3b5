//! Tiers and partners' tier changes.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json, uuid};
use crate::domain::tier::{Benefits, Criteria, Tier};

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    criteria: Criteria,
    benefits: Benefits,
}

const SELECT: &str = "SELECT t.id, t.display_name, t.tier_rank, t.doc, t.create_time, \
     t.update_time, t.version FROM tiers t";

fn row_to_tier(row: &AnyRow) -> Result<Tier> {
    let doc: Doc = from_json("tiers", &row.try_get::<String, _>("doc")?)?;
    Ok(Tier {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        rank: i32::try_from(row.try_get::<i64, _>("tier_rank")?).unwrap_or_default(),
        criteria: doc.criteria,
        benefits: doc.benefits,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(t: &Tier) -> Result<String> {
    to_json(&Doc {
        criteria: t.criteria.clone(),
        benefits: t.benefits.clone(),
    })
}

/// Inserts a tier.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, t: &Tier) -> Result<()> {
    sqlx::query(
        "INSERT INTO tiers (tenant_id, id, display_name, tier_rank, doc, create_time, \
         update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.display_name.as_str())
    .bind(i64::from(t.rank))
    .bind(doc(t)?)
    .bind(t.create_time)
    .bind(t.update_time)
    .bind(t.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a tier whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, t: &Tier, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tiers SET display_name = $3, tier_rank = $4, doc = $5, update_time = $6, \
         version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8",
    )
    .bind(tenant)
    .bind(t.id.to_string())
    .bind(t.display_name.as_str())
    .bind(i64::from(t.rank))
    .bind(doc(t)?)
    .bind(t.update_time)
    .bind(t.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The tier holding `rank`, other than `except`.
pub(crate) async fn rank_holder(
    conn: &mut AnyConnection,
    tenant: &str,
    rank: i32,
    except: Uuid,
) -> Result<Option<Uuid>> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM tiers WHERE tenant_id = $1 AND tier_rank = $2 AND id <> $3",
    )
    .bind(tenant)
    .bind(i64::from(rank))
    .bind(except.to_string())
    .fetch_optional(conn)
    .await?;
    id.as_deref().map(uuid).transpose()
}

/// A tier by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Tier>> {
    one_by_id(conn, SELECT, "t.id", tenant, id, lock, row_to_tier).await
}

const BY_RANK: OrderBy = OrderBy::desc("rank");

/// A page of tiers, highest rank first.
pub(crate) async fn list(conn: &mut AnyConnection, tenant: &str, page: &Page) -> Result<Vec<Tier>> {
    let s = Select::new(format!("{SELECT} WHERE t.tenant_id = $1"), 1);
    let (sql, binds) = s.fixed(page, &BY_RANK, "t.tier_rank", "t.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_tier).collect()
}

/// The cursor after `t`.
pub(crate) fn cursor_of(t: &Tier) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(i64::from(t.rank)),
        CursorValue::Text(t.id.to_string()),
    ]
}

/// Every tier of the tenant (a tenant has a handful).
pub(crate) async fn all(conn: &mut AnyConnection, tenant: &str) -> Result<Vec<Tier>> {
    let rows = sqlx::query(&format!("{SELECT} WHERE t.tenant_id = $1"))
        .bind(tenant)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_tier).collect()
}

/// One change of a partner's tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub from_tier: String,
    pub to_tier: String,
    pub reason: String,
    pub actor: String,
    pub create_time: i64,
}

/// Records a tier change.
pub(crate) async fn insert_change(tx: &mut Tx, tenant: &str, c: &Change) -> Result<()> {
    sqlx::query(
        "INSERT INTO tier_changes (tenant_id, partner_id, id, from_tier, to_tier, reason, \
         actor, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(c.partner_id.to_string())
    .bind(c.id.to_string())
    .bind(c.from_tier.as_str())
    .bind(c.to_tier.as_str())
    .bind(c.reason.as_str())
    .bind(c.actor.as_str())
    .bind(c.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const NEWEST: OrderBy = OrderBy::desc("create_time");

/// A page of a partner's tier changes, newest first.
pub(crate) async fn changes(
    conn: &mut AnyConnection,
    tenant: &str,
    partner: Uuid,
    page: &Page,
) -> Result<Vec<Change>> {
    let s = Select::new(
        "SELECT id, partner_id, from_tier, to_tier, reason, actor, create_time \
         FROM tier_changes WHERE tenant_id = $1 AND partner_id = $2",
        2,
    );
    let (sql, binds) = s.fixed(page, &NEWEST, "create_time", "id")?;
    let rows = bind_all(
        sqlx::query(&sql).bind(tenant).bind(partner.to_string()),
        &binds,
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                id: uuid(&r.try_get::<String, _>("id")?)?,
                partner_id: uuid(&r.try_get::<String, _>("partner_id")?)?,
                from_tier: r.try_get("from_tier")?,
                to_tier: r.try_get("to_tier")?,
                reason: r.try_get("reason")?,
                actor: r.try_get("actor")?,
                create_time: r.try_get("create_time")?,
            })
        })
        .collect()
}

/// The cursor after `c`.
pub(crate) fn change_cursor(c: &Change) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(c.create_time),
        CursorValue::Text(c.id.to_string()),
    ]
}

/// Claims `tenant`'s evaluation due at `now`, moving its due time to `next`: true for the one
/// caller that moved it. A tenant never evaluated is due.
pub(crate) async fn claim_evaluation(
    tx: &mut Tx,
    tenant: &str,
    now: i64,
    next: i64,
) -> Result<bool> {
    sqlx::query(
        "INSERT INTO tier_evaluations (tenant_id, due_time) VALUES ($1, 0) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    let moved = sqlx::query(
        "UPDATE tier_evaluations SET due_time = $3 WHERE tenant_id = $1 AND due_time <= $2",
    )
    .bind(tenant)
    .bind(now)
    .bind(next)
    .execute(&mut **tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Sets `tenant`'s next evaluation to `due`.
pub(crate) async fn schedule_evaluation(tx: &mut Tx, tenant: &str, due: i64) -> Result<()> {
    sqlx::query("UPDATE tier_evaluations SET due_time = $2 WHERE tenant_id = $1")
        .bind(tenant)
        .bind(due)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Tenants with active partners whose evaluation is due at `now`.
pub(crate) async fn tenants_due(conn: &mut AnyConnection, now: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT p.tenant_id FROM partners p \
         LEFT JOIN tier_evaluations e ON e.tenant_id = p.tenant_id \
         WHERE p.state = 'active' AND (e.due_time IS NULL OR e.due_time <= $1)",
    )
    .bind(now)
    .fetch_all(conn)
    .await?)
}
