//! SQL of the dwell-alert sweep (LE8). Claiming an opportunity for an alert level is a
//! conditional UPDATE of its `dwell_alert`, so of two sweeps running at once only one claims it,
//! and an alert raised in the same transaction is raised once.

use rapport_runtime::{Result, clock::Micros, storage::Tx};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::uuid;
use crate::domain::dwell::Level;

/// Tenants and pipelines with open opportunities not yet escalated.
pub(crate) async fn pipelines_to_sweep(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT tenant_id, pipeline_id FROM opportunities \
         WHERE state = 'OPEN' AND dwell_alert < 2 ORDER BY tenant_id, pipeline_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// An opportunity claimed for an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub id: Uuid,
    pub display_name: String,
    pub owner_id: String,
    pub team_id: String,
    pub stage_enter_time: Micros,
}

/// Moves up to `limit` open opportunities of `stage` that entered it before `cutoff` from the
/// level below `level` to `level`, and returns them: the caller raises their alerts in the same
/// transaction. Opportunities another sweep claimed first, or is claiming, are not returned.
pub(crate) async fn claim(
    tx: &mut Tx,
    tenant: &str,
    pipeline: &str,
    stage: &str,
    level: Level,
    cutoff: Micros,
    limit: u32,
) -> Result<Vec<Claimed>> {
    // Levels are written into the statement so PostgreSQL can match the partial index
    // opportunities_dwell_due (dwell_alert < 2) whatever the plan.
    let (from, to) = (level.stored() - 1, level.stored());
    let due = format!(
        "tenant_id = $1 AND pipeline_id = $2 AND stage = $3 AND state = 'OPEN' \
         AND dwell_alert = {from} AND stage_enter_time < $4"
    );
    // The inner SELECT locks its rows in order and skips those another sweep holds: without
    // it, the UPDATE locked the candidates in whatever order its join produced, and two
    // concurrent sweeps of one stage could each hold a row the other waited for.
    let sql = format!(
        "UPDATE opportunities SET dwell_alert = {to} WHERE {due} AND id IN \
         (SELECT id FROM opportunities WHERE {due} ORDER BY stage_enter_time, id LIMIT {limit}{}) \
         RETURNING id, display_name, owner_id, team_id, stage_enter_time",
        tx.dialect().for_update_skip_locked()
    );
    let rows = sqlx::query(&sql)
        .bind(tenant)
        .bind(pipeline)
        .bind(stage)
        .bind(cutoff)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: uuid(&r.try_get::<String, _>(0)?)?,
                display_name: r.try_get(1)?,
                owner_id: r.try_get(2)?,
                team_id: r.try_get(3)?,
                stage_enter_time: r.try_get(4)?,
            })
        })
        .collect()
}

/// The manager of team `team`, if it has one.
pub(crate) async fn team_manager(tx: &mut Tx, tenant: &str, team: &str) -> Result<Option<String>> {
    if team.is_empty() {
        return Ok(None);
    }
    let manager: Option<String> =
        sqlx::query_scalar("SELECT manager_id FROM teams WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(team)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(manager.filter(|m| !m.is_empty()))
}
