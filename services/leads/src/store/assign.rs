//! The rep counters assignment keeps: open leads against capacity, claims per day, the turn
//! order. Every increment is a conditional UPDATE, so under any concurrency no rep goes over
//! its capacity or daily limit: a writer that loses the race simply matches no row.

use rapport_runtime::{Result, clock::Micros, dialect::Dialect};
use sqlx::{AnyConnection, Row};

use super::org::RepAttrs;
use crate::domain::assign::{RepLoad, RepStatus};

/// Every rep of the tenant with its counters, for planning.
pub async fn rep_loads(conn: &mut AnyConnection, tenant: &str) -> Result<Vec<RepLoad>> {
    let rows = sqlx::query(
        "SELECT id, team_id, status, attrs, capacity, open_leads, weight, last_assign_time, \
         assigned_total FROM reps WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let attrs: RepAttrs =
                serde_json::from_str(&r.try_get::<String, _>("attrs")?).unwrap_or_default();
            Ok(RepLoad {
                id: r.try_get("id")?,
                team_id: r.try_get("team_id")?,
                status: RepStatus::parse(&r.try_get::<String, _>("status")?)
                    .unwrap_or(RepStatus::Inactive),
                skills: attrs.skills,
                regions: attrs.regions,
                languages: attrs.languages,
                product_lines: attrs.product_lines,
                capacity: r.try_get("capacity")?,
                open_leads: r.try_get("open_leads")?,
                weight: r.try_get("weight")?,
                last_assign_time: r.try_get("last_assign_time")?,
                assigned_total: r.try_get("assigned_total")?,
            })
        })
        .collect()
}

/// Gives one lead to the first of `candidates` (in order) that is active and has room, and
/// returns its (id, team). On PostgreSQL a rep whose row another assigner holds is skipped
/// rather than waited for, so concurrent assigners spread over the reps.
pub async fn take_first_rep(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    candidates: &[String],
    now: Micros,
) -> Result<Option<(String, String)>> {
    if candidates.is_empty() {
        return Ok(None);
    }
    let first = 3;
    let list = super::placeholders(first, candidates.len());
    let rank: String = (0..candidates.len())
        .map(|i| format!(" WHEN ${} THEN {i}", first + i))
        .collect();
    let sql = format!(
        "UPDATE reps SET open_leads = open_leads + 1, last_assign_time = $2, \
         assigned_total = assigned_total + 1 \
         WHERE tenant_id = $1 AND open_leads < capacity AND id = (SELECT id FROM reps \
           WHERE tenant_id = $1 AND id IN ({list}) AND status = 'ACTIVE' AND open_leads < capacity \
           ORDER BY CASE id{rank} END LIMIT 1{}) \
         RETURNING id, team_id",
        dialect.for_update_skip_locked()
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(now);
    for c in candidates {
        q = q.bind(c);
    }
    let row = q.fetch_optional(conn).await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("team_id")?)))
        .transpose()
}

/// Why a rep could not take a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such rep in the tenant.
    Unknown,
    /// Not ACTIVE.
    NotActive(String),
    /// At capacity.
    Full { capacity: i64 },
    /// Daily claim limit reached (or claiming is off).
    DailyLimit { limit: i64 },
}

/// Gives one lead to `rep` (a manager's pick or a claim), within its capacity and, for claims,
/// its daily claim limit on `day` (days since the epoch). Returns the rep's team.
pub async fn take_rep(
    conn: &mut AnyConnection,
    tenant: &str,
    rep: &str,
    claim_day: Option<i64>,
    now: Micros,
) -> Result<std::result::Result<String, Refusal>> {
    let claim = claim_day.is_some();
    let day = claim_day.unwrap_or(0);
    let sql = format!(
        "UPDATE reps SET open_leads = open_leads + 1, last_assign_time = $3, \
         assigned_total = assigned_total + 1{} \
         WHERE tenant_id = $1 AND id = $2 AND status = 'ACTIVE' AND open_leads < capacity{} \
         RETURNING team_id",
        if claim {
            ", claims_today = CASE WHEN claim_day = $4 THEN claims_today + 1 ELSE 1 END, claim_day = $4"
        } else {
            ""
        },
        if claim {
            " AND daily_claim_limit > 0 AND (claim_day <> $4 OR claims_today < daily_claim_limit)"
        } else {
            ""
        },
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(rep).bind(now);
    if claim {
        q = q.bind(day);
    }
    if let Some(row) = q.fetch_optional(&mut *conn).await? {
        return Ok(Ok(row.try_get("team_id")?));
    }
    let row = sqlx::query(
        "SELECT status, open_leads, capacity, daily_claim_limit FROM reps \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(rep)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(Err(Refusal::Unknown));
    };
    let status: String = r.try_get("status")?;
    let (open, capacity): (i64, i64) = (r.try_get("open_leads")?, r.try_get("capacity")?);
    Ok(Err(if status != "ACTIVE" {
        Refusal::NotActive(status)
    } else if open >= capacity {
        Refusal::Full { capacity }
    } else {
        Refusal::DailyLimit {
            limit: r.try_get("daily_claim_limit")?,
        }
    }))
}

/// Takes `count` leads off `rep`'s open leads (released, reclaimed, handed over, won, deleted).
pub async fn give_back(
    conn: &mut AnyConnection,
    tenant: &str,
    rep: &str,
    count: i64,
) -> Result<()> {
    if rep.is_empty() || count == 0 {
        return Ok(());
    }
    sqlx::query(
        "UPDATE reps SET open_leads = CASE WHEN open_leads > $3 THEN open_leads - $3 ELSE 0 END \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(rep)
    .bind(count)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes leads off several reps' open leads in one statement: `counts` is (rep, how many).
pub async fn give_back_many(
    conn: &mut AnyConnection,
    tenant: &str,
    counts: &[(&str, i64)],
) -> Result<()> {
    for chunk in counts.chunks(500) {
        let by_rep: String = (0..chunk.len())
            .map(|i| format!(" WHEN ${} THEN ${}", 2 + i * 2, 3 + i * 2))
            .collect();
        let ids: Vec<String> = (0..chunk.len())
            .map(|i| format!("${}", 2 + i * 2))
            .collect();
        let n = format!("(CASE id{by_rep} ELSE 0 END)");
        let sql = format!(
            "UPDATE reps SET open_leads = CASE WHEN open_leads > {n} THEN open_leads - {n} ELSE 0 END \
             WHERE tenant_id = $1 AND id IN ({})",
            ids.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(tenant);
        for (rep, count) in chunk {
            q = q.bind(*rep).bind(*count);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks `rep` INACTIVE (a departing rep).
pub async fn deactivate(
    conn: &mut AnyConnection,
    tenant: &str,
    rep: &str,
    now: Micros,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE reps SET status = 'INACTIVE', update_time = $3, version = version + 1 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(rep)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// A rep that took a lead by [`take_rep_in_order`]: its id and team, and its open leads and
/// capacity once it took the lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub rep: String,
    pub team: String,
    pub open_leads: i64,
    pub capacity: i64,
}

/// Gives one lead to the first active rep with room (in `team`, when given) in the SQL order
/// `order` (from `domain::assign::sql_order`), and returns it. As [`take_first_rep`], reps
/// another assigner holds are skipped on PostgreSQL.
pub async fn take_rep_in_order(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    pick: crate::domain::assign::Pick<'_>,
    order: &str,
    now: Micros,
) -> Result<Option<Taken>> {
    let mut filters = String::new();
    let mut binds = Vec::new();
    for (column, op, value) in [("team_id", "=", pick.team), ("id", "<>", pick.exclude)] {
        if let Some(v) = value {
            binds.push(v);
            filters.push_str(&format!(" AND {column} {op} ${}", 2 + binds.len()));
        }
    }
    let sql = format!(
        "UPDATE reps SET open_leads = open_leads + 1, last_assign_time = $2, \
         assigned_total = assigned_total + 1 \
         WHERE tenant_id = $1 AND open_leads < capacity AND id = (SELECT id FROM reps \
           WHERE tenant_id = $1{filters} AND status = 'ACTIVE' AND open_leads < capacity \
           ORDER BY {order} LIMIT 1{}) \
         RETURNING id, team_id, open_leads, capacity",
        dialect.for_update_skip_locked()
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(now);
    for v in binds {
        q = q.bind(v);
    }
    let Some(r) = q.fetch_optional(conn).await? else {
        return Ok(None);
    };
    Ok(Some(Taken {
        rep: r.try_get("id")?,
        team: r.try_get("team_id")?,
        open_leads: r.try_get("open_leads")?,
        capacity: r.try_get("capacity")?,
    }))
}
