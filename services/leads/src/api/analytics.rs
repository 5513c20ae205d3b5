//! LeadAnalyticsService (LE12): funnels, leaderboards and the weighted forecast. Admins and
//! service accounts see the whole tenant; a manager's figures cover its team (the token's team
//! claim), so a manager without one is refused.

use std::collections::{BTreeMap, HashMap};

use rapport_kit::{Reply, reply};
use rapport_proto::{
    leads::{self as pb, lead_analytics_service_server::LeadAnalyticsService},
    types as pt,
};
use rapport_runtime::{Error, Result, auth::Principal, validation::Violations};
use tonic::Request;

use super::support::{ANALYSTS, authorize};
use crate::app::App;
use crate::app::scope;
use crate::convert::pipeline::{duration_to_proto, optional_time, pipeline_key};
use crate::{
    domain::{
        analytics::{self, Grain, Month, StageCounts, Standing, split_window},
        opportunity::is_currency,
        pipeline::{self, EXAMPLE_ID, Pipeline},
        visibility::Scope,
    },
    store::{
        analytics::{self as store, FunnelQuery, Group},
        pipelines,
    },
};

/// The currency of leaderboards and forecasts when the request names none.
const DEFAULT_CURRENCY: &str = "CNY";
/// Entries per leaderboard list when the request says 0, and the most it may ask for.
const DEFAULT_LIMIT: i32 = 10;
const MAX_LIMIT: i32 = 100;

#[tonic::async_trait]
impl LeadAnalyticsService for App {
    async fn get_funnel(&self, req: Request<pb::GetFunnelRequest>) -> Reply<pb::GetFunnelResponse> {
        reply(funnel(self, req).await)
    }

    async fn get_leaderboard(
        &self,
        req: Request<pb::GetLeaderboardRequest>,
    ) -> Reply<pb::GetLeaderboardResponse> {
        reply(leaderboard(self, req).await)
    }

    async fn get_forecast(
        &self,
        req: Request<pb::GetForecastRequest>,
    ) -> Reply<pb::GetForecastResponse> {
        reply(forecast(self, req).await)
    }
}

/// The team a caller's figures are limited to: none for those who see the whole tenant.
fn team_limit(p: &Principal) -> Result<Option<String>> {
    match scope(p) {
        Scope::All => Ok(None),
        Scope::Team {
            team: Some(team), ..
        } if !team.is_empty() => Ok(Some(team)),
        _ => Err(Error::PermissionDenied(
            "a manager's analytics cover its team, and this token names none".into(),
        )),
    }
}

fn parse_group(raw: i32, field: &str, v: &mut Violations) -> Group {
    match pb::GroupBy::try_from(raw) {
        Ok(pb::GroupBy::Unspecified) => Group::None,
        Ok(pb::GroupBy::Source) => Group::Source,
        Ok(pb::GroupBy::Team) => Group::Team,
        Ok(pb::GroupBy::Rep) => Group::Rep,
        Err(_) => {
            v.add(field, format!("{raw} is not a GroupBy"));
            Group::None
        }
    }
}

/// The key a group is reported under: "teams/{team}" for teams, the source or rep id as
/// stored otherwise; empty for opportunities without one.
fn group_key(group: Group, raw: &str) -> String {
    match group {
        Group::Team if !raw.is_empty() => format!("teams/{raw}"),
        _ => raw.to_owned(),
    }
}

fn currency(raw: &str, v: &mut Violations) -> String {
    let code = raw.trim();
    if code.is_empty() {
        DEFAULT_CURRENCY.to_owned()
    } else {
        if !is_currency(code) {
            v.add(
                "currency_code",
                format!(
                    "{code:?} is not an ISO 4217 code (three upper-case letters, e.g. \"CNY\")"
                ),
            );
        }
        code.to_owned()
    }
}

fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

async fn funnel(api: &App, req: Request<pb::GetFunnelRequest>) -> Result<pb::GetFunnelResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let pipeline_id = pipeline_key(&msg.pipeline, "pipeline", &mut v);
    let group = parse_group(msg.group_by, "group_by", &mut v);
    let start = optional_time(msg.start_time.as_ref(), "start_time", &mut v);
    let end = optional_time(msg.end_time.as_ref(), "end_time", &mut v);
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        v.add("end_time", "must be after start_time");
    }
    v.finish(())?;
    let team = team_limit(&p)?;
    let mut conn = api.db().pool().acquire().await?;
    let pipeline = pipelines::get(&mut conn, &p.tenant_id, &pipeline_id)
        .await?
        .ok_or_else(|| Error::not_found(pipeline::pipeline_name(&pipeline_id)))?;
    let q = FunnelQuery {
        pipeline: &pipeline_id,
        group,
        team: team.as_deref(),
    };
    let mut rows = Vec::new();
    for part in split_window(start, end) {
        let counted = match part.grain {
            Grain::Raw => store::uncounted(&mut conn, &p.tenant_id, q, part.from, part.to).await?,
            grain => {
                store::counted(&mut conn, &p.tenant_id, q, grain, (part.from, part.to)).await?
            }
        };
        rows.extend(counted.into_iter().map(|mut c| {
            c.reached *= part.sign;
            c.dwell.iter_mut().for_each(|(_, n)| *n *= part.sign);
            c
        }));
    }
    let mut groups: BTreeMap<String, BTreeMap<String, StageCounts>> = BTreeMap::new();
    if group == Group::None {
        groups.insert(String::new(), BTreeMap::new());
    }
    for c in rows {
        let counts = groups
            .entry(group_key(group, &c.key))
            .or_default()
            .entry(c.stage)
            .or_default();
        counts.reached += c.reached;
        counts.dwell.extend(c.dwell);
    }
    // A group counted in a month and subtracted again at the window's ends is not in it.
    if group != Group::None {
        groups.retain(|_, counts| counts.values().any(|c| c.reached > 0));
    }
    let stages: Vec<String> = pipeline.stages.iter().map(|s| s.id.clone()).collect();
    let funnels = groups
        .into_iter()
        .map(|(key, counts)| pb::Funnel {
            key,
            stages: analytics::funnel(&stages, counts)
                .into_iter()
                .map(|s| pb::FunnelStage {
                    stage: s.stage,
                    reached: s.reached,
                    conversion: s.conversion,
                    median_dwell: s.median_dwell.map(duration_to_proto),
                })
                .collect(),
        })
        .collect();
    Ok(pb::GetFunnelResponse { funnels })
}

async fn leaderboard(
    api: &App,
    req: Request<pb::GetLeaderboardRequest>,
) -> Result<pb::GetLeaderboardResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let teams = match parse_group(msg.group_by, "group_by", &mut v) {
        Group::None | Group::Rep => false,
        Group::Team => true,
        Group::Source => {
            v.add("group_by", "leaderboards rank reps (REP) or teams (TEAM)");
            false
        }
    };
    let month = if msg.month.trim().is_empty() {
        v.add("month", "is required, as YYYY-MM");
        None
    } else {
        Month::parse(msg.month.trim())
            .map_err(|e| v.add("month", e))
            .ok()
    };
    let limit = match msg.limit {
        0 => DEFAULT_LIMIT,
        n if (1..=MAX_LIMIT).contains(&n) => n,
        n => {
            v.add(
                "limit",
                format!("must be 1..{MAX_LIMIT} (0 means {DEFAULT_LIMIT}), got {n}"),
            );
            DEFAULT_LIMIT
        }
    };
    let currency = currency(&msg.currency_code, &mut v);
    let month = v.finish(month)?.unwrap_or(Month(0));
    let team = team_limit(&p)?;
    let bounds = (month.prev().start(), month.start(), month.next().start());
    let mut conn = api.db().pool().acquire().await?;
    let won = store::won(
        &mut conn,
        &p.tenant_id,
        teams,
        bounds,
        &currency,
        team.as_deref(),
    )
    .await?;
    let open = store::with_open(&mut conn, &p.tenant_id, teams, team.as_deref()).await?;
    let prefix = if teams { "teams" } else { "reps" };
    let name = |raw: &str| format!("{prefix}/{raw}");
    let mut standings: BTreeMap<String, Standing> = won
        .into_iter()
        .map(|w| {
            let key = name(&w.key);
            let s = Standing {
                key: key.clone(),
                won_count: w.won_count,
                won_amount: w.won_amount,
                previous_amount: w.previous_amount,
            };
            (key, s)
        })
        .collect();
    let active: Vec<String> = open.iter().map(|k| name(k)).collect();
    for key in &active {
        standings.entry(key.clone()).or_insert_with(|| Standing {
            key: key.clone(),
            won_count: 0,
            won_amount: 0,
            previous_amount: 0,
        });
    }
    let board = analytics::rank(standings.into_values().collect(), &active, limit as usize);
    let entries = |list: Vec<Standing>| -> Vec<pb::LeaderboardEntry> {
        list.into_iter()
            .map(|s| pb::LeaderboardEntry {
                key: s.key,
                won_count: s.won_count,
                won_amount: money(&currency, s.won_amount),
                previous_amount: money(&currency, s.previous_amount),
            })
            .collect()
    };
    Ok(pb::GetLeaderboardResponse {
        best: entries(board.best),
        worst: entries(board.worst),
        rising: entries(board.rising),
    })
}

async fn forecast(
    api: &App,
    req: Request<pb::GetForecastRequest>,
) -> Result<pb::GetForecastResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let pipeline_id =
        (!msg.pipeline.is_empty()).then(|| pipeline_key(&msg.pipeline, "pipeline", &mut v));
    let currency = currency(&msg.currency_code, &mut v);
    let group = parse_group(msg.group_by, "group_by", &mut v);
    v.finish(())?;
    let team = team_limit(&p)?;
    let mut conn = api.db().pool().acquire().await?;
    if let Some(id) = &pipeline_id
        && pipelines::get(&mut conn, &p.tenant_id, id).await?.is_none()
    {
        return Err(Error::not_found(pipeline::pipeline_name(id)));
    }
    let sums = store::open_sums(
        &mut conn,
        &p.tenant_id,
        group,
        &currency,
        pipeline_id.as_deref(),
        team.as_deref(),
    )
    .await?;
    // Win probabilities come from the pipelines' current stages.
    let mut known: HashMap<String, Pipeline> = pipelines::all_stored(&mut conn, &p.tenant_id)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    known
        .entry(EXAMPLE_ID.to_owned())
        .or_insert_with(pipeline::example);
    type Line = (i64, i64, Vec<(i64, i32)>);
    let mut lines: BTreeMap<(String, String), Line> = BTreeMap::new();
    for s in sums {
        let month = if s.month.is_empty() {
            "none".to_owned()
        } else {
            s.month
        };
        let probability = known
            .get(&s.pipeline_id)
            .and_then(|p| p.stage(&s.stage))
            .map_or(0, |stage| stage.win_probability);
        let line = lines.entry((month, group_key(group, &s.key))).or_default();
        line.0 += s.count;
        line.1 = line.1.saturating_add(s.amount);
        line.2.push((s.amount, probability));
    }
    Ok(pb::GetForecastResponse {
        lines: lines
            .into_iter()
            .map(|((month, key), (count, total, parts))| pb::ForecastLine {
                month,
                key,
                open_count: count,
                total: money(&currency, total),
                weighted: money(&currency, analytics::weighted(&parts)),
            })
            .collect(),
    })
}
