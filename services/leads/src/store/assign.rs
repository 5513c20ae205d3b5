//! The rep counters assignment keeps, on the kit's counters table (`rapport_kit::assign`):
//! open leads against capacity, claims per day against the daily claim limit, the turn order.
//! Every take is a conditional UPDATE there, so under any concurrency no rep goes over its
//! capacity or daily limit. What is about leads stays here: reading reps' attributes for the
//! skills match, and a departing rep.

use rapport_kit::assign::{Counters, DailyLimit, Member, Status};
use rapport_runtime::{Result, clock::Micros};
use sqlx::{AnyConnection, Row};

use super::org::RepAttrs;
use crate::domain::{
    assign::{Reach, RepLoad},
    org::RepStatus,
};

/// The reps table as the kit's counters: open leads against capacity, ACTIVE reps take leads.
pub const REPS: Counters = Counters {
    table: "reps",
    open: "open_leads",
    capacity: "capacity",
    status: "status",
    available: "status = 'ACTIVE'",
};

/// Public-pool claims: at most `daily_claim_limit` a day.
pub const CLAIMS: DailyLimit = DailyLimit {
    limit: "daily_claim_limit",
    count: "claims_today",
    day: "claim_day",
};

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
            let status =
                RepStatus::parse(&r.try_get::<String, _>("status")?).unwrap_or(RepStatus::Inactive);
            Ok(Member {
                id: r.try_get("id")?,
                team: r.try_get("team_id")?,
                status: Status::from(status),
                skills: attrs.skills,
                capacity: r.try_get("capacity")?,
                open: r.try_get("open_leads")?,
                weight: r.try_get("weight")?,
                last_assign_time: r.try_get("last_assign_time")?,
                assigned_total: r.try_get("assigned_total")?,
                attrs: Reach {
                    regions: attrs.regions,
                    languages: attrs.languages,
                    product_lines: attrs.product_lines,
                },
            })
        })
        .collect()
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
