//! `rapport-bench leads`: the leads service on PostgreSQL + Redis beside raw baselines in the
//! same run: AssignLead with 200 reps and 32 concurrent assigners (capacity violations and
//! double assignments counted afterwards), the reclaim sweep over 1,000,000 leads of which 10%
//! are overdue, and funnel analytics over 1,000,000 opportunities.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rapport_customers::Customers;
use rapport_leads::Leads;
use rapport_proto::leads::{self as pb, lead_service_client::LeadServiceClient};
use rapport_runtime::{
    context::{Service, ServiceEntry},
    storage::{Db, PoolSettings},
};
use tonic::{codegen::InterceptedService, transport::Channel};

use crate::{
    Result,
    load::{self, Op, Outcome},
    stores::{self, Bearer, BenchServer, ScratchDatabase, TENANT},
};

/// Arguments of `rapport-bench leads`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds the assignment load is measured [default: 10; 2 with --quick].
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Concurrent assigners.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Reps the leads are assigned to.
    #[arg(long, default_value_t = 200)]
    pub reps: usize,
    /// Leads of the reclaim sweep [default: 1000000; 50000 with --quick]; 10% are overdue.
    #[arg(long)]
    pub sweep_leads: Option<i64>,
    /// Opportunities of the funnel [default: 1000000; 50000 with --quick].
    #[arg(long)]
    pub funnel_opportunities: Option<i64>,
    /// A short smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

type Client = LeadServiceClient<InterceptedService<Channel, Bearer>>;

const DAY: i64 = 86_400_000_000;
/// Places per rep in the assignment run: far more than the run fills, so a violation would be
/// a bug, not a full rep.
const CAPACITY: i64 = 1_000;
/// Connections per database pool, for the service and the raw baselines alike. Fewer than the
/// server's default of 16: on two cores, sixteen PostgreSQL backends busy with short write
/// transactions spend their time switching; eight keep both cores working.
const DB_CONNECTIONS: u32 = 8;
/// Tenant of the sweep's data.
const SWEEP_TENANT: &str = "bench-sweep";

fn progress(what: &str) {
    eprintln!("rapport-bench: {what}");
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// Runs the benchmark and prints its report.
pub async fn run(args: Args) -> Result<()> {
    let admin = args.stores.postgres().ok_or(
        "rapport-bench leads needs PostgreSQL (--postgres-url or RAPPORT_BENCH_POSTGRES_URL)",
    )?;
    let redis = args
        .stores
        .redis()
        .ok_or("rapport-bench leads needs Redis (--redis-url or RAPPORT_BENCH_REDIS_URL)")?;
    stores::redis_reachable(&redis).await?;
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let prefix = format!("rapport-bench:{}:", &tag[tag.len() - 12..]);
    let service_db = ScratchDatabase::create(&admin, "bench_leads").await?;
    let raw_db = ScratchDatabase::create(&admin, "bench_leads_raw").await?;
    let outcome = measure(&args, &service_db.url, &raw_db.url, &redis, &prefix).await;
    service_db.drop_now().await;
    raw_db.drop_now().await;
    if let Err(e) = stores::clear_redis_prefix(&redis, &prefix).await {
        eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
    }
    println!("{}", outcome?);
    Ok(())
}

async fn measure(
    args: &Args,
    service_url: &str,
    raw_url: &str,
    redis: &str,
    prefix: &str,
) -> Result<String> {
    let window = Duration::from_secs(
        args.duration_secs
            .unwrap_or(if args.quick { 2 } else { 10 })
            .max(1),
    );
    let warmup = (window / 5).clamp(Duration::from_millis(500), Duration::from_secs(2));
    let sweep_leads = args
        .sweep_leads
        .unwrap_or(if args.quick { 50_000 } else { 1_000_000 });
    let server = BenchServer::start_services(
        tempfile::tempdir()?,
        Some(service_url.to_owned()),
        Some((redis.to_owned(), prefix.to_owned())),
        &[ServiceEntry::of::<Customers>(), ServiceEntry::of::<Leads>()],
        DB_CONNECTIONS,
    )
    .await?;
    let raw = open(raw_url).await?;
    let svc = open(service_url).await?;
    let mut out = format!(
        "{DB_CONNECTIONS} database connections per pool, service and raw alike.\n\n\
         | Scenario | Throughput | p50 ms | p99 ms | vs raw | Checks |\n|---|---:|---:|---:|---|---|\n",
    );

    // Assignment.
    progress("assignment: seeding reps and leads");
    let leads_needed = (window + warmup).as_secs() as i64 * 8_000;
    let now = now_micros();
    for db in [&raw, &svc] {
        seed_reps(db, TENANT, args.reps, CAPACITY, 0).await?;
    }
    let pool_ids = seed_pool(&svc, TENANT, leads_needed, now).await?;
    let raw_ids = seed_pool(&raw, TENANT, leads_needed, now).await?;
    progress("assignment: AssignLead through the service");
    let channel = server.channel().await?;
    let queue = Arc::new(Mutex::new(pool_ids.into_iter().collect::<VecDeque<_>>()));
    let mut ops = Vec::new();
    for i in 0..args.concurrency {
        let ch = if i % 4 == 0 {
            server.channel().await?
        } else {
            channel.clone()
        };
        ops.push(AssignOp {
            client: LeadServiceClient::with_interceptor(ch, server.admin()?),
            queue: queue.clone(),
        });
    }
    let service = load::run(ops, warmup, window, async {}).await;
    progress("assignment: raw SQL baseline");
    let raw_queue = Arc::new(Mutex::new(raw_ids.into_iter().collect::<VecDeque<_>>()));
    let raw_ops = (0..args.concurrency)
        .map(|_| RawAssign {
            db: raw.clone(),
            queue: raw_queue.clone(),
        })
        .collect();
    let baseline = load::run(raw_ops, warmup, window, async {}).await;
    let checks = assignment_checks(&svc).await?;
    out.push_str(&row(
        "AssignLead, 200 reps, 32 assigners (round-robin)",
        &service,
        Some(&baseline),
        &checks,
    ));
    out.push_str(&row(
        "raw: lock lead, take rep (SKIP LOCKED), update, record",
        &baseline,
        None,
        "",
    ));

    // Reclaim sweep.
    progress(&format!(
        "reclaim: seeding {sweep_leads} leads in private pools, 10% overdue"
    ));
    let now = now_micros();
    for db in [&raw, &svc] {
        seed_reps(
            db,
            SWEEP_TENANT,
            args.reps,
            i64::MAX / 4,
            sweep_leads / args.reps as i64,
        )
        .await?;
        seed_owned(db, SWEEP_TENANT, sweep_leads, args.reps, now).await?;
        analyze(db).await?;
    }
    progress("reclaim: the service's sweep");
    let started = Instant::now();
    set_rule(&server).await?;
    let overdue = wait_reclaimed(&svc, now).await?;
    let sweep = started.elapsed();
    progress("reclaim: raw SQL baseline");
    let raw_sweep = raw_reclaim(&raw, now).await?;
    out.push_str(&format!(
        "| Reclaim sweep, {sweep_leads} leads, {overdue} overdue | {:.0} leads/s | – | – | {:.2} s vs raw {:.2} s | all overdue back in the pool; target < 10 s |\n",
        overdue as f64 / sweep.as_secs_f64(),
        sweep.as_secs_f64(),
        raw_sweep.as_secs_f64()
    ));
    // Funnel analytics.
    let opportunities =
        args.funnel_opportunities
            .unwrap_or(if args.quick { 50_000 } else { 1_000_000 });
    progress(&format!("funnel: {opportunities} opportunities"));
    for r in crate::leads_funnel::funnel(&server, &svc, opportunities).await? {
        out.push_str(&r.markdown());
    }
    let _ = server.stop(Duration::from_secs(30)).await;
    Ok(out)
}

fn row(name: &str, o: &Outcome, baseline: Option<&Outcome>, checks: &str) -> String {
    let ratio = baseline
        .map(|b| {
            format!(
                "{:.0}% of raw ({:.0}/s)",
                100.0 * o.throughput() / b.throughput().max(1e-9),
                b.throughput()
            )
        })
        .unwrap_or_else(|| "–".into());
    let errors = if o.errors > 0 {
        format!(
            " {} errors (first: {})",
            o.errors,
            o.first_error.clone().unwrap_or_default()
        )
    } else {
        String::new()
    };
    format!(
        "| {name} | {:.0}/s | {:.2} | {:.2} | {ratio} | {checks}{errors} |\n",
        o.throughput(),
        o.quantile_ms(0.5),
        o.quantile_ms(0.99)
    )
}

/// Opens `url` as the leads service does, with its migrations applied.
async fn open(url: &str) -> Result<Db> {
    let settings = PoolSettings {
        max_connections: DB_CONNECTIONS,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, Leads::NAME, settings).await?;
    db.migrate(&<Leads as Service>::migrations()).await?;
    Ok(db)
}

async fn seed_reps(db: &Db, tenant: &str, reps: usize, capacity: i64, open: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO reps (tenant_id, id, display_name, team_id, attrs, capacity, daily_claim_limit, \
         weight, status, open_leads, create_time, update_time, version) \
         SELECT $1, 'r' || g, 'Rep ' || g, 'bench', '{}', $2, 20, 1, 'ACTIVE', $3, 0, 0, 1 \
         FROM generate_series(0, $4 - 1) g",
    )
    .bind(tenant)
    .bind(capacity)
    .bind(open)
    .bind(reps as i64)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// `n` leads in the public pool; their names.
async fn seed_pool(db: &Db, tenant: &str, n: i64, now: i64) -> Result<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "INSERT INTO leads (tenant_id, id, display_name, search_text, phone, source, state, \
         state_change_time, create_time, update_time, version, intent) \
         SELECT $1, gen_random_uuid()::text, 'lead ' || g, 'lead ' || g, '+8613' || lpad(g::text, 9, '0'), \
         'FORM', 'NEW', $2, $2, $2, 1, 'LOW' FROM generate_series(1, $3) g RETURNING id",
    )
    .bind(tenant)
    .bind(now)
    .bind(n)
    .fetch_all(db.pool())
    .await?;
    Ok(ids.into_iter().map(|id| format!("leads/{id}")).collect())
}

/// `n` leads spread over the reps' private pools; every tenth was assigned four days ago and
/// never followed up, the others an hour ago.
async fn seed_owned(db: &Db, tenant: &str, n: i64, reps: usize, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO leads (tenant_id, id, display_name, search_text, source, state, owner_id, \
         team_id, assign_time, state_change_time, create_time, update_time, version, intent) \
         SELECT $1, gen_random_uuid()::text, 'lead ' || g, 'lead ' || g, 'FORM', 'CONTACTING', \
         'r' || (g % $4), 'bench', CASE WHEN g % 10 = 0 THEN $2 - 4 * $5 ELSE $2 - 3600000000 END, \
         $2 - 5 * $5, $2 - 5 * $5, $2 - 5 * $5, 1, 'MEDIUM' FROM generate_series(1, $3) g",
    )
    .bind(tenant)
    .bind(now)
    .bind(n)
    .bind(reps as i64)
    .bind(DAY)
    .execute(db.pool())
    .await?;
    Ok(())
}

async fn analyze(db: &Db) -> Result<()> {
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(())
}

/// Capacity violations, leads assigned more than once, and whether counters match owners.
async fn assignment_checks(db: &Db) -> Result<String> {
    let over: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reps WHERE tenant_id = $1 AND open_leads > capacity",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    let twice: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT lead_id FROM lead_assignments WHERE tenant_id = $1 \
         GROUP BY lead_id HAVING count(*) > 1) t",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    let counted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(open_leads), 0)::bigint FROM reps WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    let owned: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE tenant_id = $1 AND owner_id <> ''")
            .bind(TENANT)
            .fetch_one(db.pool())
            .await?;
    Ok(format!(
        "{over} capacity violations, {twice} double assignments, counters {} owners ({counted} vs {owned})",
        if counted == owned {
            "match"
        } else {
            "DIFFER from"
        }
    ))
}

/// The sweep's rule: no follow-up for 3 days → back to the pool.
async fn set_rule(server: &BenchServer) -> Result<()> {
    let mut client = LeadServiceClient::with_interceptor(
        server.channel().await?,
        server.admin_of(SWEEP_TENANT)?,
    );
    client
        .update_lead_settings(pb::UpdateLeadSettingsRequest {
            settings: Some(pb::LeadSettings {
                follow_up_rules: vec![pb::FollowUpRule {
                    display_name: "3 days".into(),
                    condition: pb::FollowUpCondition::NoFollowUp.into(),
                    after: Some(prost_types::Duration {
                        seconds: 3 * 86_400,
                        nanos: 0,
                    }),
                    warn_before: None,
                    grade: 0,
                    action: pb::ReclaimAction::ReturnToPool.into(),
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["follow_up_rules".into()],
            }),
        })
        .await?;
    Ok(())
}

const OVERDUE: &str =
    "SELECT count(*) FROM leads WHERE tenant_id = $1 AND owner_id <> '' AND assign_time <= $2";

/// Waits until no overdue lead is owned; returns how many there were.
async fn wait_reclaimed(db: &Db, now: i64) -> Result<i64> {
    let cutoff = now - 3 * DAY;
    let first: i64 = sqlx::query_scalar(OVERDUE)
        .bind(SWEEP_TENANT)
        .bind(cutoff)
        .fetch_one(db.pool())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    // Polling asks only whether one overdue lead is left, off the partial index: counting a
    // million rows every 50 ms took a core from the sweep it measures.
    let any_left = "SELECT 1 FROM leads WHERE tenant_id = $1 AND owner_id <> '' \
                    AND assign_time <= $2 LIMIT 1";
    loop {
        let left: Option<i32> = sqlx::query_scalar(any_left)
            .bind(SWEEP_TENANT)
            .bind(cutoff)
            .fetch_optional(db.pool())
            .await?;
        if left.is_none() {
            return Ok(first);
        }
        if Instant::now() > deadline {
            return Err("overdue leads still owned after 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The straightforward SQL: one UPDATE of every overdue lead and one INSERT of their history.
async fn raw_reclaim(db: &Db, now: i64) -> Result<Duration> {
    let started = Instant::now();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO lead_assignments (tenant_id, lead_id, id, rep_id, previous_owner_id, kind, reason, actor, create_time) \
         SELECT tenant_id, id, gen_random_uuid()::text, '', owner_id, 'RECLAIM', 'reclaimed', 'system', $3 \
         FROM leads WHERE tenant_id = $1 AND owner_id <> '' AND assign_time <= $2",
    )
    .bind(SWEEP_TENANT)
    .bind(now - 3 * DAY)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE leads SET owner_id = '', team_id = '', assign_time = NULL, update_time = $3, version = version + 1 \
         WHERE tenant_id = $1 AND owner_id <> '' AND assign_time <= $2",
    )
    .bind(SWEEP_TENANT)
    .bind(now - 3 * DAY)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(started.elapsed())
}

/// AssignLead of the next lead in the pool, round-robin.
struct AssignOp {
    client: Client,
    queue: Arc<Mutex<VecDeque<String>>>,
}

impl Op for AssignOp {
    async fn call(&mut self) -> std::result::Result<(), String> {
        let name = self
            .queue
            .lock()
            .map_err(|e| e.to_string())?
            .pop_front()
            .ok_or("out of leads")?;
        self.client
            .assign_lead(pb::AssignLeadRequest {
                name,
                strategy: pb::AssignmentStrategy::RoundRobin.into(),
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|s| format!("{}: {}", s.code(), s.message()))
    }
}

/// The same assignment straight in SQL: lock the lead, take the longest-waiting rep with room
/// (skipping reps other assigners hold), give it the lead, record why.
struct RawAssign {
    db: Db,
    queue: Arc<Mutex<VecDeque<String>>>,
}

impl Op for RawAssign {
    async fn call(&mut self) -> std::result::Result<(), String> {
        let name = self
            .queue
            .lock()
            .map_err(|e| e.to_string())?
            .pop_front()
            .ok_or("out of leads")?;
        let id = name.trim_start_matches("leads/").to_owned();
        let now = now_micros();
        let e = |e: sqlx::Error| e.to_string();
        let mut tx = self.db.pool().begin().await.map_err(e)?;
        sqlx::query(
            "SELECT id FROM leads WHERE tenant_id = $1 AND id = $2 AND owner_id = '' FOR UPDATE",
        )
        .bind(TENANT)
        .bind(&id)
        .fetch_one(&mut *tx)
        .await
        .map_err(e)?;
        let (rep, team): (String, String) = sqlx::query_as(
            "UPDATE reps SET open_leads = open_leads + 1, last_assign_time = $2, assigned_total = assigned_total + 1 \
             WHERE tenant_id = $1 AND id = (SELECT id FROM reps WHERE tenant_id = $1 AND status = 'ACTIVE' \
             AND open_leads < capacity ORDER BY last_assign_time, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, team_id",
        )
        .bind(TENANT)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(e)?;
        sqlx::query(
            "UPDATE leads SET owner_id = $3, team_id = $4, assign_time = $5, update_time = $5, version = version + 1 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(TENANT)
        .bind(&id)
        .bind(&rep)
        .bind(&team)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        sqlx::query(
            "INSERT INTO lead_assignments (tenant_id, lead_id, id, rep_id, previous_owner_id, kind, reason, actor, create_time) \
             VALUES ($1, $2, $3, $4, '', 'ROUND_ROBIN', 'round-robin', 'bench', $5)",
        )
        .bind(TENANT)
        .bind(&id)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&rep)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        Ok(())
    }
}
