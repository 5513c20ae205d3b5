//! Funnel analytics (LE12) over a million opportunities: GetFunnel through the leads service
//! beside the straightforward SQL (GROUP BY with COUNT(DISTINCT) and `percentile_cont` over the
//! stage history) on the same PostgreSQL data, in the same run.
//!
//! The data is generated in the database (INSERT … SELECT over `generate_series`): opportunities
//! of 200 reps in 20 teams from 7 sources, created over twelve months, moving through the
//! example pipeline with dwells of up to twice each stage's normal dwell, 35% won and 30% lost.
//! The stage history and the funnel counts are written as the service writes them (one
//! stage change per move; per month and per day, view, group and stage the opportunities that
//! reached it and a histogram of dwells in whole hours), so the service reads what it would
//! have kept itself.

use std::time::Instant;

use rapport_proto::leads::{self as pb, lead_analytics_service_client::LeadAnalyticsServiceClient};
use rapport_runtime::storage::Db;
use sqlx::{Executor, Row};

use crate::{
    Result,
    load::{quantile_ms, sorted_micros},
    stores::BenchServer,
};

/// The tenant the funnel's data is generated in.
pub const FUNNEL_TENANT: &str = "bench-funnel";
/// The first creation month of the generated opportunities: 2023-06-01T00:00:00Z.
const START: i64 = 1_685_577_600_000_000;
/// Twelve months of creation times: 2023-06-01 to 2024-06-01.
const SPAN: i64 = 1_717_200_000_000_000 - START;
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// Timed calls per service scenario, after one warm-up call.
const RUNS: usize = 15;
/// Timed runs of each baseline statement (each takes seconds).
const BASELINE_RUNS: usize = 3;
/// The target a funnel is held against.
const TARGET_MS: f64 = 500.0;

/// One line of the report.
#[derive(Debug, Clone)]
pub struct FunnelRow {
    /// What was timed.
    pub scenario: String,
    /// Latency quantiles of the timed calls, in ms.
    pub p50_ms: f64,
    /// The 99th percentile (the slowest of fewer than 100 calls).
    pub p99_ms: f64,
    /// Calls timed.
    pub runs: usize,
    /// The baseline's p50 in ms, for service rows that have one.
    pub baseline_p50_ms: Option<f64>,
    /// Consistency checks and targets, in words.
    pub checks: String,
}

impl FunnelRow {
    /// The row in the leads report's columns: Scenario | Throughput | p50 ms | p99 ms | vs raw |
    /// Checks.
    pub fn markdown(&self) -> String {
        let vs = match self.baseline_p50_ms {
            Some(b) => format!(
                "{:.0}x faster than raw ({:.0} ms)",
                b / self.p50_ms.max(1e-9),
                b
            ),
            None => "–".to_owned(),
        };
        format!(
            "| {} | {:.1}/s | {:.1} | {:.1} | {vs} | {} ({} runs) |\n",
            self.scenario,
            1000.0 / self.p50_ms.max(1e-9),
            self.p50_ms,
            self.p99_ms,
            self.checks,
            self.runs
        )
    }
}

/// A funnel request and its baseline.
struct Scenario {
    name: &'static str,
    group: pb::GroupBy,
    window: Option<(i64, i64)>,
    /// The column the baseline groups by.
    key: &'static str,
}

fn scenarios() -> Vec<Scenario> {
    // 2024-01-01 and 2024-04-01: a whole quarter; 2023-09-15 12:00 to 2024-03-10: ragged ends.
    // March in UTC+8 is 2024-03-01 and 2024-04-01 less eight hours.
    let quarter = (1_704_067_200_000_000, 1_711_929_600_000_000);
    let ragged = (1_694_779_200_000_000, 1_710_028_800_000_000);
    vec![
        Scenario {
            name: "GetFunnel, all time, no grouping",
            group: pb::GroupBy::Unspecified,
            window: None,
            key: "''",
        },
        Scenario {
            name: "GetFunnel, all time, by source",
            group: pb::GroupBy::Source,
            window: None,
            key: "source",
        },
        Scenario {
            name: "GetFunnel, all time, by team",
            group: pb::GroupBy::Team,
            window: None,
            key: "team_id",
        },
        Scenario {
            name: "GetFunnel, all time, by rep (200 funnels)",
            group: pb::GroupBy::Rep,
            window: None,
            key: "owner_id",
        },
        Scenario {
            name: "GetFunnel, a quarter (whole months), by source",
            group: pb::GroupBy::Source,
            window: Some(quarter),
            key: "source",
        },
        Scenario {
            name: "GetFunnel, March 2024 in UTC+8, by rep",
            group: pb::GroupBy::Rep,
            window: Some((
                1_709_222_400_000_000 - 8 * HOUR,
                1_711_900_800_000_000 - 8 * HOUR,
            )),
            key: "owner_id",
        },
        Scenario {
            name: "GetFunnel, 30 days to 2024-05-20 09:30, by rep",
            group: pb::GroupBy::Rep,
            window: Some((1_716_197_400_000_000 - 30 * DAY, 1_716_197_400_000_000)),
            key: "owner_id",
        },
        Scenario {
            name: "GetFunnel, 2023-09-15 12:00 to 2024-03-10, by source",
            group: pb::GroupBy::Source,
            window: Some(ragged),
            key: "source",
        },
    ]
}

/// Generates `opportunities` opportunities with their stage history and funnel counts in
/// `db` (the leads database `server` runs on, migrated), then times GetFunnel through `server`
/// and the straightforward SQL on the same data. Returns the report's rows.
pub async fn funnel(server: &BenchServer, db: &Db, opportunities: i64) -> Result<Vec<FunnelRow>> {
    eprintln!("rapport-bench: funnel: generating {opportunities} opportunities");
    let started = Instant::now();
    let changes = generate(db, opportunities).await?;
    let counts: i64 = sqlx::query_scalar("SELECT count(*) FROM funnel_counts WHERE tenant_id = $1")
        .bind(FUNNEL_TENANT)
        .fetch_one(db.pool())
        .await?;
    eprintln!(
        "rapport-bench: funnel: {changes} stage changes, {counts} funnel counts in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut client = LeadAnalyticsServiceClient::with_interceptor(
        server.channel().await?,
        server.admin_of(FUNNEL_TENANT)?,
    )
    .max_decoding_message_size(64 << 20);
    let mut rows = Vec::new();
    for s in scenarios() {
        eprintln!("rapport-bench: funnel: {}", s.name);
        let req = pb::GetFunnelRequest {
            pipeline: "pipelines/real-estate".into(),
            group_by: s.group.into(),
            start_time: s.window.map(|w| timestamp(w.0)),
            end_time: s.window.map(|w| timestamp(w.1)),
        };
        let mut answer = client.get_funnel(req.clone()).await?.into_inner();
        let mut service = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            answer = client.get_funnel(req.clone()).await?.into_inner();
            service.push(t.elapsed());
        }
        let mut raw = Vec::with_capacity(BASELINE_RUNS);
        let mut expected = Vec::new();
        for _ in 0..BASELINE_RUNS {
            let t = Instant::now();
            expected = baseline(db, s.key, s.window).await?;
            raw.push(t.elapsed());
        }
        let service = sorted_micros(service);
        let raw = sorted_micros(raw);
        let p50 = quantile_ms(&service, 0.5);
        let checks = format!(
            "{}; {}",
            compare(&answer, &expected, s.group),
            if quantile_ms(&service, 0.99) < TARGET_MS {
                "target < 500 ms met"
            } else {
                "target < 500 ms MISSED"
            }
        );
        rows.push(FunnelRow {
            scenario: format!("{}, {opportunities} opportunities", s.name),
            p50_ms: p50,
            p99_ms: quantile_ms(&service, 0.99),
            runs: RUNS,
            baseline_p50_ms: Some(quantile_ms(&raw, 0.5)),
            checks,
        });
        rows.push(FunnelRow {
            scenario: format!("raw: GROUP BY + percentile_cont over {changes} stage changes"),
            p50_ms: quantile_ms(&raw, 0.5),
            p99_ms: quantile_ms(&raw, 0.99),
            runs: BASELINE_RUNS,
            baseline_p50_ms: None,
            checks: "(baseline)".to_owned(),
        });
    }
    Ok(rows)
}

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: 0,
    }
}

/// One stage of one group as the baseline computes it: key, stage, reached, median dwell (µs).
type Expected = (String, String, i64, Option<f64>);

/// The straightforward SQL: reached and the exact median dwell per group and stage, straight
/// from the stage history.
async fn baseline(db: &Db, key: &str, window: Option<(i64, i64)>) -> Result<Vec<Expected>> {
    let within = if window.is_some() {
        " AND opportunity_create_time >= $2 AND opportunity_create_time < $3"
    } else {
        ""
    };
    let sql = format!(
        "WITH reached AS ( \
           SELECT {key} AS k, to_stage AS stage, count(DISTINCT opportunity_id) AS reached \
           FROM stage_changes WHERE tenant_id = $1 AND pipeline_id = 'real-estate'{within} \
           GROUP BY 1, 2), \
         dwell AS ( \
           SELECT {key} AS k, from_stage AS stage, \
             percentile_cont(0.5) WITHIN GROUP (ORDER BY dwell_micros) AS median \
           FROM stage_changes WHERE tenant_id = $1 AND pipeline_id = 'real-estate'{within} \
             AND from_stage <> '' GROUP BY 1, 2) \
         SELECT r.k, r.stage, r.reached, d.median FROM reached r \
         LEFT JOIN dwell d ON d.k = r.k AND d.stage = r.stage ORDER BY 1, 2"
    );
    let mut q = sqlx::query(&sql).bind(FUNNEL_TENANT);
    if let Some((from, to)) = window {
        q = q.bind(from).bind(to);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect()
}

/// Whether the service's funnels agree with the baseline: reached exactly, medians within the
/// service's resolution (dwells counted in whole hours).
fn compare(answer: &pb::GetFunnelResponse, expected: &[Expected], group: pb::GroupBy) -> String {
    let mut mismatched = 0;
    let mut worst: f64 = 0.0;
    let mut compared = 0;
    for (key, stage, reached, median) in expected {
        let key = match group {
            pb::GroupBy::Team if !key.is_empty() => format!("teams/{key}"),
            _ => key.clone(),
        };
        let got = answer
            .funnels
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| f.stages.iter().find(|s| &s.stage == stage));
        let Some(got) = got else {
            mismatched += 1;
            continue;
        };
        compared += 1;
        if got.reached != *reached {
            mismatched += 1;
        }
        if let (Some(m), Some(d)) = (median, &got.median_dwell) {
            let service = d.seconds as f64 * 1e6 + f64::from(d.nanos) / 1e3;
            worst = worst.max((m - service).abs());
        }
    }
    if mismatched == 0 {
        format!(
            "{compared} group stages match the baseline: reached exactly, medians within {:.2} h (resolution 1 h)",
            worst / HOUR as f64
        )
    } else {
        format!(
            "{mismatched} of {} group stages DIFFER from the baseline",
            expected.len()
        )
    }
}

/// Writes the data; returns the number of stage changes.
async fn generate(db: &Db, n: i64) -> Result<i64> {
    // One connection: the seed and the temporary table belong to the session.
    let mut conn = db.pool().acquire().await?;
    (&mut *conn).execute("SELECT setseed(0.42)").await?;
    sqlx::query(
        "CREATE TEMP TABLE bench_opps AS \
         SELECT i, md5('opportunity' || i)::uuid::text AS id, \
           $1 + (random() * $2)::bigint AS t0, \
           (ARRAY['FORM','IMPORT','PARTNER','CAMPAIGN','MANUAL','WALK_IN','REFERRAL'])[1 + floor(random() * 7)::int] AS source, \
           floor(random() * 200)::int AS rep, random() AS r_depth, random() AS r_outcome, \
           ARRAY[ \
             floor(random() * 6 * 24)::bigint * $4 + floor(random() * $4)::bigint, \
             floor(random() * 14 * 24)::bigint * $4 + floor(random() * $4)::bigint, \
             floor(random() * 28 * 24)::bigint * $4 + floor(random() * $4)::bigint, \
             floor(random() * 28 * 24)::bigint * $4 + floor(random() * $4)::bigint] AS d \
         FROM generate_series(1, $3) i",
    )
    .bind(START)
    .bind(SPAN as f64)
    .bind(n)
    .bind(HOUR)
    .execute(&mut *conn)
    .await?;
    // Depth: 100% reach online viewing, 70% a first visit, 45% a second, 25% a revisit; then
    // 35% are won and 30% lost from the last stage reached, the rest stay open in it.
    (&mut *conn)
        .execute(
        "CREATE TEMP TABLE bench_plan AS \
         SELECT o.*, 'rep-' || o.rep AS owner, 'team-' || (o.rep % 20) AS team, \
           CASE WHEN r_depth < 0.30 THEN 1 WHEN r_depth < 0.55 THEN 2 WHEN r_depth < 0.75 THEN 3 ELSE 4 END AS depth, \
           CASE WHEN r_outcome < 0.35 THEN 'WON' WHEN r_outcome < 0.65 THEN 'LOST' ELSE 'OPEN' END AS state, \
           ARRAY[0, d[1], d[1] + d[2], d[1] + d[2] + d[3], d[1] + d[2] + d[3] + d[4]] AS cum \
         FROM bench_opps o",
    )
    .await?;
    let stages = "ARRAY['online_viewing','first_visit','second_visit','revisit']";
    sqlx::query(&format!(
        "INSERT INTO opportunities (tenant_id, id, display_name, pipeline_id, stage, state, \
           currency_code, amount_minor, owner_id, team_id, source, stage_enter_time, close_time, \
           lost_reason, create_time, update_time, version) \
         SELECT $1, id, 'Opportunity ' || i, 'real-estate', \
           CASE state WHEN 'OPEN' THEN ({stages})[depth] WHEN 'WON' THEN 'deal' ELSE 'lost' END, \
           state, 'CNY', (1000 + i % 9000) * 10000, owner, team, source, \
           t0 + cum[depth + CASE WHEN state = 'OPEN' THEN 0 ELSE 1 END], \
           CASE WHEN state = 'OPEN' THEN NULL ELSE t0 + cum[depth + 1] END, \
           CASE WHEN state = 'LOST' THEN 'price' ELSE '' END, t0, t0, 1 \
         FROM bench_plan"
    ))
    .bind(FUNNEL_TENANT)
    .execute(&mut *conn)
    .await?;
    // One row per move: the entry into the first stage, each move forward, and the close.
    let done = sqlx::query(&format!(
        "INSERT INTO stage_changes (tenant_id, opportunity_id, id, pipeline_id, from_stage, \
           to_stage, dwell_micros, actor, owner_id, team_id, source, opportunity_create_time, create_time) \
         SELECT $1, p.id, md5(p.id || k)::uuid::text, 'real-estate', \
           CASE WHEN k = 1 THEN '' ELSE ({stages})[k - 1] END, \
           CASE WHEN k <= p.depth THEN ({stages})[k] WHEN p.state = 'WON' THEN 'deal' ELSE 'lost' END, \
           CASE WHEN k = 1 THEN 0 ELSE p.d[k - 1] END, \
           p.owner, p.owner, p.team, p.source, p.t0, p.t0 + p.cum[k] \
         FROM bench_plan p, LATERAL generate_series(1, p.depth + CASE WHEN p.state = 'OPEN' THEN 0 ELSE 1 END) k"
    ))
    .bind(FUNNEL_TENANT)
    .execute(&mut *conn)
    .await?;
    // The counts the service keeps in each stage change's transaction (store::analytics::
    // count_change): every entry here is a first entry; departures by whole hours of dwell,
    // packed per grain (month, day), view, period, group and stage.
    (&mut *conn).execute("SET work_mem = '256MB'").await?;
    sqlx::query(
        "INSERT INTO funnel_counts (tenant_id, pipeline_id, grain, dim, period, team_id, dim_key, \
           stage, reached, dwell) \
         SELECT tenant_id, pipeline_id, grain, dim, period, team, k, stage, \
           coalesce(sum(n) FILTER (WHERE bucket < 0), 0), \
           coalesce(string_agg(bucket || ':' || n, ',' ORDER BY bucket) FILTER (WHERE bucket >= 0), '') \
         FROM ( \
           SELECT sc.tenant_id, sc.pipeline_id, g.grain, v.dim, g.period, v.team, v.k, x.stage, \
             x.bucket, count(*) AS n \
           FROM (SELECT s.*, \
                   (extract(year FROM to_timestamp(s.opportunity_create_time / 1e6) AT TIME ZONE 'UTC')::bigint - 1970) * 12 \
                   + extract(month FROM to_timestamp(s.opportunity_create_time / 1e6) AT TIME ZONE 'UTC')::bigint - 1 AS month, \
                   floor(s.opportunity_create_time::numeric / $3)::bigint AS day \
                 FROM stage_changes s WHERE s.tenant_id = $1) sc \
           CROSS JOIN LATERAL (VALUES ('month', sc.month), ('day', sc.day)) g(grain, period) \
           CROSS JOIN LATERAL (VALUES ('source', '', sc.source), ('team', sc.team_id, ''), \
             ('team_source', sc.team_id, sc.source), ('rep', sc.team_id, sc.owner_id)) v(dim, team, k) \
           CROSS JOIN LATERAL (VALUES (sc.to_stage, -1::bigint), (sc.from_stage, sc.dwell_micros / $2)) x(stage, bucket) \
           WHERE x.stage <> '' \
           GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9) b \
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
    )
    .bind(FUNNEL_TENANT)
    .bind(HOUR)
    .bind(DAY)
    .execute(&mut *conn)
    .await?;
    (&mut *conn)
        .execute("DROP TABLE bench_plan; DROP TABLE bench_opps")
        .await?;
    (&mut *conn)
        .execute("ANALYZE opportunities; ANALYZE stage_changes; ANALYZE funnel_counts")
        .await?;
    Ok(i64::try_from(done.rows_affected()).unwrap_or(i64::MAX))
}
