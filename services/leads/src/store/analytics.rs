//! SQL of the analytics: the funnel counts kept beside every stage change, and the reads of
//! funnels, leaderboards and forecasts.
//!
//! A funnel reads `funnel_counts`: one row per month (or day), group and stage, with the
//! stage's dwell histogram packed in it (whole hours), so even a funnel per rep over a year
//! reads a few thousand rows. Whole months come from month rows, the ends of a window from day
//! rows, and at most half a day at each end from the stage changes themselves, through their
//! index on creation time (`domain::analytics::split_window`).

use rapport_runtime::{
    Error, Result,
    clock::Micros,
    storage::BindValue,
    storage::bind_all,
    storage::{Tx, lock_keys},
};
use sqlx::{AnyConnection, Row};

use crate::domain::{
    analytics::{
        DWELL_BUCKET, Grain, Month, add_to_histogram, day_of, dwell_bucket, parse_histogram,
    },
    opportunity::StageChange,
};

/// Counts `change` in the funnel: a departure from its `from_stage` after its dwell, and, when
/// `first_entry` (the opportunity never was in `to_stage` before), one more opportunity that
/// reached `to_stage`. Runs in the stage change's transaction. Reached counts are increments;
/// a histogram is read, changed and written back under a lock on its row's key, so concurrent
/// changes never lose one another's counts.
pub(crate) async fn count_change(
    tx: &mut Tx,
    tenant: &str,
    change: &StageChange,
    first_entry: bool,
) -> Result<()> {
    let created = change.opportunity_create_time;
    let periods = [
        (Grain::Month.as_str(), Month::of(created).0),
        (Grain::Day.as_str(), day_of(created)),
    ];
    let views = [
        ("source", "", change.source.as_str()),
        ("team", change.team_id.as_str(), ""),
        (
            "team_source",
            change.team_id.as_str(),
            change.source.as_str(),
        ),
        ("rep", change.team_id.as_str(), change.owner_id.as_str()),
    ];
    let cells: Vec<Cell<'_>> = periods
        .iter()
        .flat_map(|&(grain, period)| {
            views
                .iter()
                .map(move |&(dim, team, key)| (grain, dim, period, team, key))
        })
        .collect();
    // (cell, stage, reached increment, new histogram or '' to keep it)
    let mut rows: Vec<(Cell<'_>, &str, i64, String)> = Vec::with_capacity(16);
    if !change.from_stage.is_empty() {
        let from = change.from_stage.as_str();
        let mut keys: Vec<String> = cells
            .iter()
            .map(|(grain, dim, period, team, key)| {
                format!(
                    "leads/{tenant}/funnel/{}/{grain}/{dim}/{period}/{team}/{key}/{from}",
                    change.pipeline_id
                )
            })
            .collect();
        lock_keys(tx, &mut keys).await?;
        let current = histograms(tx, tenant, &change.pipeline_id, from, &cells).await?;
        let bucket = dwell_bucket(change.dwell);
        for cell in &cells {
            let text = current
                .iter()
                .find(|(c, _)| c == cell)
                .map_or("", |(_, h)| h.as_str());
            let next = add_to_histogram(text, bucket).map_err(Error::internal)?;
            rows.push((*cell, from, 0, next));
        }
    }
    if first_entry {
        for cell in &cells {
            rows.push((*cell, change.to_stage.as_str(), 1, String::new()));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    // One order for every writer, so two transactions never wait on each other's rows in
    // opposite orders.
    rows.sort();
    let values: Vec<String> = (0..rows.len())
        .map(|i| {
            let b = 3 + i * 8;
            let p: Vec<String> = (b..b + 8).map(|n| format!("${n}")).collect();
            format!("($1, $2, {})", p.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO funnel_counts (tenant_id, pipeline_id, grain, dim, period, team_id, dim_key, \
         stage, reached, dwell) VALUES {} \
         ON CONFLICT (tenant_id, pipeline_id, grain, dim, period, team_id, dim_key, stage) \
         DO UPDATE SET reached = funnel_counts.reached + excluded.reached, \
         dwell = CASE WHEN excluded.dwell = '' THEN funnel_counts.dwell ELSE excluded.dwell END",
        values.join(", ")
    );
    let mut q = sqlx::query(&sql)
        .bind(tenant)
        .bind(change.pipeline_id.as_str());
    for ((grain, dim, period, team, key), stage, reached, dwell) in &rows {
        q = q
            .bind(*grain)
            .bind(*dim)
            .bind(*period)
            .bind(*team)
            .bind(*key)
            .bind(*stage)
            .bind(*reached)
            .bind(dwell.as_str());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// A row of the counts without its stage: grain, dim, period, team, key.
type Cell<'a> = (&'a str, &'a str, i64, &'a str, &'a str);

/// The stored histograms of `stage` in `cells`.
async fn histograms<'c>(
    tx: &mut Tx,
    tenant: &str,
    pipeline: &str,
    stage: &str,
    cells: &[Cell<'c>],
) -> Result<Vec<(Cell<'c>, String)>> {
    let conds: Vec<String> = (0..cells.len())
        .map(|i| {
            let b = 4 + i * 5;
            format!(
                "(grain = ${b} AND dim = ${} AND period = ${} AND team_id = ${} AND dim_key = ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4
            )
        })
        .collect();
    let sql = format!(
        "SELECT grain, dim, period, team_id, dim_key, dwell FROM funnel_counts \
         WHERE tenant_id = $1 AND pipeline_id = $2 AND stage = $3 AND ({})",
        conds.join(" OR ")
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(pipeline).bind(stage);
    for (grain, dim, period, team, key) in cells {
        q = q
            .bind(*grain)
            .bind(*dim)
            .bind(*period)
            .bind(*team)
            .bind(*key);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let (grain, dim, period, team, key): (String, String, i64, String, String) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        // Back to the caller's cell, so it borrows nothing from the rows.
        if let Some(cell) = cells
            .iter()
            .find(|c| c.0 == grain && c.1 == dim && c.2 == period && c.3 == team && c.4 == key)
        {
            out.push((*cell, r.try_get(5)?));
        }
    }
    Ok(out)
}

/// What a funnel groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    None,
    Source,
    Team,
    Rep,
}

/// Which funnel to read: a pipeline, a grouping, and a manager's team (`None`: the whole tenant).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FunnelQuery<'a> {
    pub pipeline: &'a str,
    pub group: Group,
    pub team: Option<&'a str>,
}

/// Counts of one stage of one group: the group's raw key (a source, team id or rep id; empty
/// without grouping), the stage, opportunities that reached it, and departures as
/// (hours of dwell, count) pairs. A group and stage may come in several parts (months).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    pub key: String,
    pub stage: String,
    pub reached: i64,
    pub dwell: Vec<(i64, i64)>,
}

/// The counts kept at `grain` (month or day) for opportunities created in periods
/// `[first, end)`: one row per period, group and stage.
pub(crate) async fn counted(
    conn: &mut AnyConnection,
    tenant: &str,
    q: FunnelQuery<'_>,
    grain: Grain,
    (first, end): (i64, i64),
) -> Result<Vec<Counted>> {
    // The view that holds exactly the rows wanted, and the column that is the group's key.
    let (dim, key) = match (q.group, q.team) {
        (Group::None, None) => ("source", "''"),
        (Group::Source, None) => ("source", "dim_key"),
        (Group::None, Some(_)) => ("team", "''"),
        (Group::Source, Some(_)) => ("team_source", "dim_key"),
        (Group::Team, _) => ("team", "team_id"),
        (Group::Rep, _) => ("rep", "dim_key"),
    };
    let mut sql = format!(
        "SELECT {key}, stage, reached, dwell FROM funnel_counts WHERE tenant_id = $1 \
         AND pipeline_id = $2 AND grain = $3 AND dim = $4 AND period >= $5 AND period < $6"
    );
    if q.team.is_some() {
        sql.push_str(" AND team_id = $7");
    }
    let mut query = sqlx::query(&sql)
        .bind(tenant)
        .bind(q.pipeline)
        .bind(grain.as_str())
        .bind(dim)
        .bind(first)
        .bind(end);
    if let Some(team) = q.team {
        query = query.bind(team);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let dwell: String = r.try_get(3)?;
            Ok(Counted {
                key: r.try_get(0)?,
                stage: r.try_get(1)?,
                reached: r.try_get(2)?,
                dwell: parse_histogram(&dwell).map_err(Error::internal)?,
            })
        })
        .collect()
}

/// The same counts as [`counted`], straight from the stage changes of opportunities created in
/// `[from, to)` (the partial months of a window).
pub(crate) async fn uncounted(
    conn: &mut AnyConnection,
    tenant: &str,
    q: FunnelQuery<'_>,
    from: Micros,
    to: Micros,
) -> Result<Vec<Counted>> {
    let key = match q.group {
        Group::None => "''",
        Group::Source => "source",
        Group::Team => "team_id",
        Group::Rep => "owner_id",
    };
    let group_key = if q.group == Group::None { "" } else { key };
    let team = if q.team.is_some() {
        " AND team_id = $5"
    } else {
        ""
    };
    let by = |cols: &str| {
        if group_key.is_empty() {
            format!(" GROUP BY {cols}")
        } else {
            format!(" GROUP BY {group_key}, {cols}")
        }
    };
    let filter = format!(
        "FROM stage_changes WHERE tenant_id = $1 AND pipeline_id = $2 \
         AND opportunity_create_time >= $3 AND opportunity_create_time < $4{team}"
    );
    let reached = format!(
        "SELECT {key}, to_stage, CAST(-1 AS BIGINT), CAST(SUM(first_entry) AS BIGINT) {filter}{}",
        by("to_stage")
    );
    let bucket = format!("dwell_micros / {DWELL_BUCKET}");
    let dwell = format!(
        "SELECT {key}, from_stage, {bucket}, COUNT(*) {filter} AND from_stage <> ''{}",
        by(&format!("from_stage, {bucket}"))
    );
    let mut out = Vec::new();
    for sql in [reached, dwell] {
        let mut query = sqlx::query(&sql)
            .bind(tenant)
            .bind(q.pipeline)
            .bind(from)
            .bind(to);
        if let Some(team) = q.team {
            query = query.bind(team);
        }
        for r in query.fetch_all(&mut *conn).await? {
            let (bucket, n): (i64, i64) = (r.try_get(2)?, r.try_get(3)?);
            out.push(Counted {
                key: r.try_get(0)?,
                stage: r.try_get(1)?,
                reached: if bucket < 0 { n } else { 0 },
                dwell: if bucket < 0 {
                    Vec::new()
                } else {
                    vec![(bucket, n)]
                },
            });
        }
    }
    Ok(out)
}

/// A rep's or team's deals in a month and the month before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Won {
    pub key: String,
    pub won_count: i64,
    pub won_amount: i64,
    pub previous_amount: i64,
}

/// The column of a leaderboard's key: `owner_id` for reps, `team_id` for teams.
fn board_column(teams: bool) -> &'static str {
    if teams { "team_id" } else { "owner_id" }
}

/// Deals won per rep (or team) with close times in `[previous, end)`, split at `month`; amounts
/// in `currency` only. Limited to `team` when given.
pub(crate) async fn won(
    conn: &mut AnyConnection,
    tenant: &str,
    teams: bool,
    (previous, month, end): (Micros, Micros, Micros),
    currency: &str,
    team: Option<&str>,
) -> Result<Vec<Won>> {
    let col = board_column(teams);
    let mut sql = format!(
        "SELECT {col}, \
         CAST(SUM(CASE WHEN close_time >= $3 THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN close_time >= $3 AND currency_code = $5 THEN amount_minor ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN close_time < $3 AND currency_code = $5 THEN amount_minor ELSE 0 END) AS BIGINT) \
         FROM opportunities WHERE tenant_id = $1 AND state = 'WON' AND close_time >= $2 \
         AND close_time < $4 AND {col} <> ''"
    );
    if team.is_some() {
        sql.push_str(" AND team_id = $6");
    }
    sql.push_str(&format!(" GROUP BY {col}"));
    let mut q = sqlx::query(&sql)
        .bind(tenant)
        .bind(previous)
        .bind(month)
        .bind(end)
        .bind(currency);
    if let Some(team) = team {
        q = q.bind(team);
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Won {
                key: r.try_get(0)?,
                won_count: r.try_get(1)?,
                won_amount: r.try_get(2)?,
                previous_amount: r.try_get(3)?,
            })
        })
        .collect()
}

/// Reps (or teams) with an open opportunity, limited to `team` when given.
pub(crate) async fn with_open(
    conn: &mut AnyConnection,
    tenant: &str,
    teams: bool,
    team: Option<&str>,
) -> Result<Vec<String>> {
    let col = board_column(teams);
    let mut sql = format!(
        "SELECT DISTINCT {col} FROM opportunities WHERE tenant_id = $1 AND state = 'OPEN' AND {col} <> ''"
    );
    if team.is_some() {
        sql.push_str(" AND team_id = $2");
    }
    let mut q = sqlx::query_scalar::<_, String>(&sql).bind(tenant);
    if let Some(team) = team {
        q = q.bind(team);
    }
    Ok(q.fetch_all(conn).await?)
}

/// Open opportunities in `currency` summed per expected close month (`YYYY-MM`, empty when
/// none), group key, pipeline and stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenSum {
    pub month: String,
    pub key: String,
    pub pipeline_id: String,
    pub stage: String,
    pub count: i64,
    pub amount: i64,
}

/// The open amounts of a forecast, optionally of one pipeline and one team.
pub(crate) async fn open_sums(
    conn: &mut AnyConnection,
    tenant: &str,
    group: Group,
    currency: &str,
    pipeline: Option<&str>,
    team: Option<&str>,
) -> Result<Vec<OpenSum>> {
    let key = match group {
        Group::None => None,
        Group::Source => Some("source"),
        Group::Team => Some("team_id"),
        Group::Rep => Some("owner_id"),
    };
    let month = "substr(expected_close, 1, 7)";
    let mut sql = format!(
        "SELECT {month}, {}, pipeline_id, stage, COUNT(*), CAST(SUM(amount_minor) AS BIGINT) \
         FROM opportunities WHERE tenant_id = $1 AND state = 'OPEN' AND currency_code = $2",
        key.unwrap_or("''")
    );
    let mut binds = Vec::new();
    if let Some(p) = pipeline {
        binds.push(BindValue::Text(p.to_owned()));
        sql.push_str(&format!(" AND pipeline_id = ${}", binds.len() + 2));
    }
    if let Some(t) = team {
        binds.push(BindValue::Text(t.to_owned()));
        sql.push_str(&format!(" AND team_id = ${}", binds.len() + 2));
    }
    sql.push_str(&format!(" GROUP BY {month}, "));
    if let Some(k) = key {
        sql.push_str(&format!("{k}, "));
    }
    sql.push_str("pipeline_id, stage");
    let rows = bind_all(sqlx::query(&sql).bind(tenant).bind(currency), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OpenSum {
                month: r.try_get(0)?,
                key: r.try_get(1)?,
                pipeline_id: r.try_get(2)?,
                stage: r.try_get(3)?,
                count: r.try_get(4)?,
                amount: r.try_get(5)?,
            })
        })
        .collect()
}
