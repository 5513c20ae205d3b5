//! `rapport-bench partners`: the partners service beside raw baselines in the same run:
//! webhook fan-out of order events to partners' endpoints on 127.0.0.1 against the same signed
//! POSTs sent straight with the kit's sender, on SQLite and on PostgreSQL + Redis; commission
//! accrual from order events through the service's order consumer against the raw SQL of the
//! ledger lines and accrual rows; and GetPartner over HTTP/JSON beside gRPC.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode};
use rapport_kit::webhooks::{self, Policy, Secret, Sender, message_id};
use rapport_partners::Partners;
use rapport_proto::partners::{
    self as pb, partner_service_client::PartnerServiceClient,
    tier_service_client::TierServiceClient, webhook_service_client::WebhookServiceClient,
};
use rapport_runtime::{
    clock::{Clock, Micros, SystemClock},
    context::{Service, ServiceBundle, ServiceContext, ServiceEntry},
    events::append_many,
    storage::{Db, Migrations, PoolSettings},
};
use rapport_testkit::context_over;
use tonic::{codegen::InterceptedService, transport::Channel};
use uuid::Uuid;

use crate::{
    Result,
    gateway::http_readers,
    load::{self, Outcome},
    partners_data::{self as data, Raw, Sales, ThroughService},
    pool::{IdPool, ReadByName},
    report::{TargetTable, load_cell, thousands},
    stores::{self, Bearer, BenchServer, ScratchDatabase},
};

/// Arguments of `rapport-bench partners`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Order events fanned out to the webhook endpoints [default: 10000; 2000 with --quick].
    #[arg(long)]
    pub webhook_events: Option<usize>,
    /// Partners, each with one endpoint on a receiver of its own on 127.0.0.1; each event
    /// names one of them.
    #[arg(long, default_value_t = 100)]
    pub endpoints: usize,
    /// Order events accrued [default: 1000000; 20000 with --quick].
    #[arg(long)]
    pub order_events: Option<usize>,
    /// Order events applied at once, as that many replicas' consumers share the orders stream.
    #[arg(long, default_value_t = 4)]
    pub consumers: usize,
    /// Seconds GetPartner is measured per protocol [default: 10; 2 with --quick].
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// GetPartner callers per protocol.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// A short smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

type Hooks = WebhookServiceClient<InterceptedService<Channel, Bearer>>;
type PartnerClient = PartnerServiceClient<InterceptedService<Channel, Bearer>>;

/// Connections per database pool, service and raw alike (as the other services' benchmarks,
/// for two cores).
const DB_CONNECTIONS: u32 = 8;
/// Where the receivers listen; the server is told to let webhooks go there.
const LOOPBACK: &str = "127.0.0.0/8";
/// Attempts the delivery sweep has in flight at once (the partners service's `PARALLEL`):
/// the baseline sends at the same concurrency.
const SWEEP_PARALLEL: usize = 8;
/// Events per transaction of the feed standing in for the orders service.
const FEED_BATCH: usize = 100;
/// Partners the accrued orders are spread over.
const ACCRUAL_PARTNERS: usize = 200;

fn progress(what: &str) {
    eprintln!("rapport-bench: partners: {what}");
}

/// What one run covers.
struct Plan {
    webhook_events: usize,
    endpoints: usize,
    order_events: usize,
    consumers: usize,
    window: Duration,
    warmup: Duration,
    concurrency: usize,
}

impl Plan {
    fn of(a: &Args) -> Plan {
        let window = Duration::from_secs(a.duration_secs.unwrap_or(if a.quick { 2 } else { 10 }));
        Plan {
            webhook_events: a
                .webhook_events
                .unwrap_or(if a.quick { 2_000 } else { 10_000 })
                .max(1),
            endpoints: a.endpoints.max(1),
            order_events: a
                .order_events
                .unwrap_or(if a.quick { 20_000 } else { 1_000_000 })
                .max(1),
            consumers: a.consumers.max(1),
            warmup: (window / 5).clamp(Duration::from_millis(500), Duration::from_secs(2)),
            window: window.max(Duration::from_secs(1)),
            concurrency: a.concurrency.max(1),
        }
    }
}

/// Runs the benchmark and prints its report.
pub async fn run(args: Args) -> Result<()> {
    let plan = Plan::of(&args);
    let postgres = args.stores.postgres();
    let redis = args.stores.redis();
    let mut table = TargetTable::new();
    let mut notes: Vec<String> = Vec::new();

    // Standalone: fan-out, then GetPartner on the same server.
    let receivers = Receivers::start(plan.endpoints).await?;
    let server = start(None, None).await?;
    let fan = fan_out(&plan, &server, None, &receivers).await?;
    fan.report(&plan, "standalone (SQLite)", &mut table, &mut notes);
    get_partner(&plan, &server, &fan.partners, &mut table, &mut notes).await?;
    server.stop(Duration::from_secs(10)).await;

    match (postgres, redis) {
        (Some(admin), Some(redis)) => {
            stores::redis_reachable(&redis).await?;
            let prefix = stores::run_prefix();
            let db = ScratchDatabase::create(&admin, "bench_partners").await?;
            let result = distributed(&plan, &db.url, &redis, &prefix, &receivers).await;
            db.drop_now().await;
            if let Err(e) = stores::clear_redis_prefix(&redis, &prefix).await {
                eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
            }
            result?.report(&plan, "PostgreSQL + Redis", &mut table, &mut notes);
        }
        _ => notes.push(
            "webhook fan-out on PostgreSQL + Redis skipped: no --postgres-url and --redis-url \
             (or RAPPORT_BENCH_* / RAPPORT_TEST_* variables)"
                .into(),
        ),
    }
    receivers.stop();

    match args.stores.postgres() {
        Some(admin) => accrual(&plan, &admin, &mut table, &mut notes).await?,
        None => notes.push("commission accrual skipped: it runs on PostgreSQL".into()),
    }

    let mut out = format!(
        "## rapport-bench partners\n\n{DB_CONNECTIONS} database connections per pool, service and \
         raw alike; {} order events fanned out to {} partners' endpoints (one each, on 127.0.0.1); \
         {} order events accrued by {} consumers at once; GetPartner measured {} s per protocol \
         after {:.1} s of warm-up, {} callers.\n\n",
        thousands(plan.webhook_events as f64),
        plan.endpoints,
        thousands(plan.order_events as f64),
        plan.consumers,
        plan.window.as_secs(),
        plan.warmup.as_secs_f64(),
        plan.concurrency,
    );
    out.push_str(&table.markdown());
    if !notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for n in notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    println!("{out}");
    Ok(())
}

async fn distributed(
    plan: &Plan,
    url: &str,
    redis: &str,
    prefix: &str,
    receivers: &Receivers,
) -> Result<FanOut> {
    let server = start(Some(url), Some((redis, prefix))).await?;
    let fan = fan_out(plan, &server, Some(url), receivers).await;
    server.stop(Duration::from_secs(10)).await;
    fan
}

/// The partners service and the stand-in for the orders service, letting webhooks go to
/// loopback: standalone without `database_url`, else on it (and Redis when given).
async fn start(database_url: Option<&str>, redis: Option<(&str, &str)>) -> Result<BenchServer> {
    let server = BenchServer::start_allowing(
        tempfile::tempdir()?,
        database_url.map(str::to_owned),
        redis.map(|(u, p)| (u.to_owned(), p.to_owned())),
        &[
            ServiceEntry::of::<Partners>(),
            ServiceEntry::of::<OrderFeed>(),
        ],
        DB_CONNECTIONS,
        LOOPBACK,
    )
    .await?;
    Ok(server)
}

/// Stands in for the orders service: a service named `orders` with no API, whose context the
/// bench takes, so that the events it commits to its outbox reach the partners service through
/// the server's relay and bus as the orders service's do.
struct OrderFeed;

static FEED: Mutex<Option<ServiceContext>> = Mutex::new(None);

impl Service for OrderFeed {
    const NAME: &'static str = "orders";

    fn migrations() -> Migrations {
        Migrations {
            postgres: &[],
            sqlite: &[],
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let bundle = rapport_kit::service::Bundle::new(Self::NAME, &ctx).finish();
        if let Ok(mut feed) = FEED.lock() {
            *feed = Some(ctx);
        }
        bundle
    }
}

/// A request a receiver got: its `webhook-id`, when (service clock, µs), and its body.
struct Hit {
    id: String,
    at: Micros,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Hit>>>;

/// Webhook receivers on 127.0.0.1, one port each, logging every request into one log and
/// answering 200 at once.
struct Receivers {
    addrs: Vec<SocketAddr>,
    log: Log,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Receivers {
    async fn start(n: usize) -> Result<Receivers> {
        let log: Log = Arc::default();
        let mut addrs = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for _ in 0..n {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            addrs.push(listener.local_addr()?);
            let app = Router::new().fallback(receive).with_state(log.clone());
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        Ok(Receivers { addrs, log, tasks })
    }

    fn url(&self, i: usize) -> String {
        format!("http://{}/hooks/{i}", self.addrs[i % self.addrs.len()])
    }

    /// Everything logged so far, emptying the log.
    fn take(&self) -> Vec<Hit> {
        self.log
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    fn count(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or_default()
    }

    /// Waits until `n` requests arrived or `patience` passed without a new one.
    async fn wait_for(&self, n: usize, patience: Duration) {
        let mut last = (self.count(), tokio::time::Instant::now());
        loop {
            let got = self.count();
            if got >= n {
                return;
            }
            if got != last.0 {
                last = (got, tokio::time::Instant::now());
            } else if last.1.elapsed() > patience {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let at = SystemClock.now();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut l) = log.lock() {
        l.push(Hit { id, at, body });
    }
    StatusCode::OK
}

/// A partner with its endpoint.
struct Subscriber {
    partner: String,
    endpoint_id: String,
    url: String,
    secret: Secret,
}

/// What one deployment's fan-out measured, service and baseline.
struct FanOut {
    partners: Vec<String>,
    service: Outcome,
    baseline: Outcome,
    duplicates: usize,
    feed: Duration,
    /// Deliveries the consumer made, and the first's and last's creation after the first
    /// commit: what the consumer took, the rest being the sweep's.
    made: (i64, Duration, Duration),
}

impl FanOut {
    fn report(
        &self,
        plan: &Plan,
        deployment: &str,
        table: &mut TargetTable,
        notes: &mut Vec<String>,
    ) {
        let ratio = self.service.throughput() / self.baseline.throughput().max(1e-9);
        let rate = self.service.throughput();
        table.row(
            format!(
                "Webhook fan-out, {deployment}: {} order events to {} endpoints (one per \
                 partner), commit → receipt",
                thousands(plan.webhook_events as f64),
                plan.endpoints
            ),
            load_cell(&self.service),
            load_cell(&self.baseline),
            format!("{:.0}% of raw", ratio * 100.0),
            "≥ 2,000 deliveries/s",
            Some(self.service.errors == 0 && rate >= 2_000.0),
        );
        notes.push(format!(
            "Fan-out, {deployment}: the events were committed in {:.2} s ({FEED_BATCH} per \
             transaction); {} deliveries in {:.2} s from the first commit to the last receipt; \
             {} received twice; the fan-out consumer made {} deliveries between {:.2} s and \
             {:.2} s after the first commit; the baseline's {SWEEP_PARALLEL} senders took {:.2} s",
            self.feed.as_secs_f64(),
            self.service.ok,
            self.service.window.as_secs_f64(),
            self.duplicates,
            self.made.0,
            self.made.1.as_secs_f64(),
            self.made.2.as_secs_f64(),
            self.baseline.window.as_secs_f64()
        ));
        for (name, o) in [("service", &self.service), ("baseline", &self.baseline)] {
            if let Some(e) = &o.first_error {
                notes.push(format!(
                    "Fan-out {name}, {deployment}: {} errors, the first: {e}",
                    o.errors
                ));
            }
        }
    }
}

/// Partners with one endpoint each, subscribed to the orders' events, as the admin.
async fn subscribe(
    server: &BenchServer,
    receivers: &Receivers,
    n: usize,
) -> Result<Vec<Subscriber>> {
    let channel = server.channel().await?;
    let mut partners = PartnerServiceClient::with_interceptor(channel.clone(), server.admin()?);
    let mut hooks: Hooks = WebhookServiceClient::with_interceptor(channel, server.admin()?);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let p = create_partner(&mut partners, i).await?;
        let e = hooks
            .create_webhook_endpoint(pb::CreateWebhookEndpointRequest {
                parent: p.clone(),
                webhook_endpoint: Some(pb::WebhookEndpoint {
                    url: receivers.url(i),
                    event_types: vec!["rapport.orders.v1.order.*".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        out.push(Subscriber {
            partner: p,
            endpoint_id: e.name.rsplit('/').next().unwrap_or_default().to_owned(),
            url: e.url,
            secret: Secret::parse(&e.secret)?,
        });
    }
    Ok(out)
}

async fn create_partner(c: &mut PartnerClient, i: usize) -> Result<String> {
    Ok(c.create_partner(pb::CreatePartnerRequest {
        partner: Some(pb::Partner {
            display_name: format!("Dealer {i:03}"),
            kind: pb::PartnerKind::Dealer.into(),
            phone: format!("021-5555 {:04}", i % 10_000),
            region: ["Shanghai", "Beijing", "Guangzhou", "Chengdu"][i % 4].into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await?
    .into_inner()
    .name)
}

/// Commits the events in transactions of the orders stand-in, waits for their deliveries,
/// then sends the same bodies straight to the same receivers.
async fn fan_out(
    plan: &Plan,
    server: &BenchServer,
    database_url: Option<&str>,
    receivers: &Receivers,
) -> Result<FanOut> {
    let feed = FEED
        .lock()
        .map_err(|_| "poisoned")?
        .take()
        .ok_or("the orders stand-in was not built")?;
    progress(&format!("{} partners and their endpoints", plan.endpoints));
    let subs = subscribe(server, receivers, plan.endpoints).await?;
    let categories: Vec<String> = (0..data::CATEGORIES)
        .map(|c| format!("categories/{}", Uuid::from_u64_pair(3, c as u64)))
        .collect();
    let run = u64::from(rand::random::<u32>());
    receivers.take();

    progress(&format!("fan-out of {} order events", plan.webhook_events));
    // webhook-id → the commit time of its event and the subscriber it goes to.
    let mut expected: HashMap<String, (Micros, usize)> =
        HashMap::with_capacity(plan.webhook_events);
    let mut first_commit = None;
    let fed = std::time::Instant::now();
    for start in (0..plan.webhook_events).step_by(FEED_BATCH) {
        let end = (start + FEED_BATCH).min(plan.webhook_events);
        let now = SystemClock.now();
        let mut targets = Vec::with_capacity(end - start);
        let events = (start..end)
            .map(|i| {
                let sale = data::sale(run, i, subs.len());
                let sub = &subs[sale.partner];
                targets.push((sub.endpoint_id.as_str(), sale.partner));
                let payload = data::order_changed(&sale, &sub.partner, &categories, now);
                data::new_event(format!("orders/{}", sale.order_id), payload)
            })
            .collect();
        let mut tx = feed.db.begin().await?;
        let ids = append_many(&mut tx, events, now).await?;
        tx.commit().await?;
        let at = SystemClock.now();
        feed.outbox_waker.notify_one();
        first_commit.get_or_insert(at);
        for (id, (endpoint, sub)) in ids.iter().zip(targets) {
            expected.insert(message_id(endpoint, id), (at, sub));
        }
    }
    let feed_took = fed.elapsed();
    receivers
        .wait_for(expected.len(), Duration::from_secs(30))
        .await;
    let hits = receivers.take();
    let first_commit = first_commit.unwrap_or_default();
    let mut seen: HashSet<String> = HashSet::with_capacity(hits.len());
    let mut latencies = Vec::with_capacity(hits.len());
    let mut last = first_commit;
    let mut duplicates = 0;
    for h in &hits {
        let Some((committed, _)) = expected.get(&h.id) else {
            continue;
        };
        if !seen.insert(h.id.clone()) {
            duplicates += 1;
            continue;
        }
        latencies.push(micros(h.at - committed));
        last = last.max(h.at);
    }
    let service = outcome(latencies, expected.len(), micros(last - first_commit));
    let made = made_deliveries(server, database_url).await?;
    let made = (
        made.0,
        micros(made.1 - first_commit),
        micros(made.2 - first_commit),
    );

    progress("baseline: the same signed POSTs straight to the receivers");
    let mut bodies: Vec<(usize, String, Bytes)> = Vec::with_capacity(hits.len());
    for h in hits {
        if let Some(&(_, sub)) = expected.get(&h.id)
            && seen.remove(h.id.as_str())
        {
            bodies.push((sub, h.id, h.body));
        }
    }
    let baseline = send_straight(&subs, bodies, receivers).await?;
    Ok(FanOut {
        partners: subs.into_iter().map(|s| s.partner).collect(),
        service,
        baseline,
        duplicates,
        feed: feed_took,
        made,
    })
}

/// The deliveries in the partners service's database: how many, and the first's and last's
/// creation time.
async fn made_deliveries(
    server: &BenchServer,
    database_url: Option<&str>,
) -> Result<(i64, Micros, Micros)> {
    let one = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    let db = match database_url {
        Some(url) => Db::connect(url, Partners::NAME, one).await?,
        None => Db::open_sqlite_file(server.data_dir(), Partners::NAME, one).await?,
    };
    Ok(sqlx::query_as(
        "SELECT count(*), coalesce(min(create_time), 0), coalesce(max(create_time), 0) \
         FROM webhook_deliveries",
    )
    .fetch_one(db.pool())
    .await?)
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or_default())
}

/// An outcome of `latencies` out of `expected` messages over `window`: the missing ones are
/// its errors.
fn outcome(latencies: Vec<Duration>, expected: usize, window: Duration) -> Outcome {
    let ok = latencies.len();
    let missing = expected.saturating_sub(ok);
    Outcome {
        ok: ok as u64,
        errors: missing as u64,
        window,
        latencies_us: load::sorted_micros(latencies),
        first_error: (missing > 0).then(|| format!("{missing} never arrived")),
    }
}

/// Sends each of `bodies` (the subscriber, webhook-id and body of a delivery the service
/// made) to the same endpoint, signed with its secret, [`SWEEP_PARALLEL`] at once, one attempt
/// each with the kit's sender; every message is due at the start, as the service's were once
/// committed.
async fn send_straight(
    subs: &[Subscriber],
    bodies: Vec<(usize, String, Bytes)>,
    receivers: &Receivers,
) -> Result<Outcome> {
    let messages: Arc<Vec<_>> = Arc::new(
        bodies
            .into_iter()
            .map(|(sub, id, body)| (subs[sub].url.clone(), id, body, subs[sub].secret.clone()))
            .collect(),
    );
    let sender = Sender::new(LOOPBACK.parse::<Policy>()?);
    let next = Arc::new(AtomicUsize::new(0));
    let start = SystemClock.now();
    let tasks: Vec<_> = (0..SWEEP_PARALLEL)
        .map(|_| {
            let (messages, sender, next) = (messages.clone(), sender.clone(), next.clone());
            tokio::spawn(async move {
                let mut failed = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((url, id, body, secret)) = messages.get(i) else {
                        return failed;
                    };
                    let sent = sender
                        .send(
                            &webhooks::Delivery {
                                url,
                                msg_id: id,
                                body,
                                secrets: std::slice::from_ref(secret),
                            },
                            SystemClock.now(),
                        )
                        .await;
                    if !sent.status.is_some_and(|s| (200..300).contains(&s)) {
                        failed.push(format!("{:?} {:?}", sent.status, sent.error));
                    }
                }
            })
        })
        .collect();
    let mut failed = Vec::new();
    for t in tasks {
        failed.extend(t.await?);
    }
    receivers
        .wait_for(messages.len(), Duration::from_secs(5))
        .await;
    let hits = receivers.take();
    let last = hits.iter().map(|h| h.at).max().unwrap_or(start);
    let latencies = hits.iter().map(|h| micros(h.at - start)).collect();
    let mut o = outcome(latencies, messages.len(), micros(last - start));
    if let Some(first) = failed.first() {
        o.first_error = Some(format!("{} failed sends, the first: {first}", failed.len()));
    }
    Ok(o)
}

/// GetPartner over gRPC, then over HTTP/JSON, on `server`.
async fn get_partner(
    plan: &Plan,
    server: &BenchServer,
    partners: &[String],
    table: &mut TargetTable,
    notes: &mut Vec<String>,
) -> Result<()> {
    let pool = IdPool::new(partners.to_vec());
    progress("GetPartner over gRPC");
    let mut ops = Vec::with_capacity(plan.concurrency);
    let mut channel = None;
    for i in 0..plan.concurrency {
        if i % 4 == 0 {
            channel = Some(server.channel().await?);
        }
        let client = PartnerServiceClient::with_interceptor(
            channel.clone().ok_or("no channel")?,
            server.admin()?,
        );
        ops.push(ReadByName::new(pool.worker(100 + i as u64), move |name| {
            let mut c = client.clone();
            async move {
                let got = c.get_partner(pb::GetPartnerRequest { name }).await?;
                Ok(got.into_inner().name)
            }
        }));
    }
    let grpc = load::run(ops, plan.warmup, plan.window, async {}).await;
    progress("GetPartner over HTTP/JSON");
    let ops = http_readers(server, plan.concurrency, &pool).await?;
    let http = load::run(ops, plan.warmup, plan.window, async {}).await;
    let ratio = http.throughput() / grpc.throughput().max(1e-9);
    table.row(
        format!(
            "GetPartner over HTTP/JSON beside gRPC, standalone (SQLite), {} callers each",
            plan.concurrency
        ),
        load_cell(&http),
        format!("gRPC: {}", load_cell(&grpc)),
        format!("{:.0}% of gRPC", ratio * 100.0),
        "≥ 60% of gRPC throughput",
        Some(http.errors == 0 && ratio >= 0.6),
    );
    for (name, o) in [
        ("GetPartner over gRPC", &grpc),
        ("GetPartner over HTTP/JSON", &http),
    ] {
        if let Some(e) = &o.first_error {
            notes.push(format!("{name}: {} errors, the first: {e}", o.errors));
        }
    }
    Ok(())
}

/// Commission accrual on PostgreSQL: the service's order consumer over its database beside
/// the raw SQL on another, the same sales on both.
async fn accrual(
    plan: &Plan,
    admin: &str,
    table: &mut TargetTable,
    notes: &mut Vec<String>,
) -> Result<()> {
    let service_db = ScratchDatabase::create(admin, "bench_partners_accrual").await?;
    let raw_db = ScratchDatabase::create(admin, "bench_partners_accrual_raw").await?;
    let result = accrue_both(plan, &service_db.url, &raw_db.url, table, notes).await;
    service_db.drop_now().await;
    raw_db.drop_now().await;
    result
}

async fn accrue_both(
    plan: &Plan,
    service_url: &str,
    raw_url: &str,
    table: &mut TargetTable,
    notes: &mut Vec<String>,
) -> Result<()> {
    progress(&format!(
        "a Gold tier and {ACCRUAL_PARTNERS} partners in it, through the service"
    ));
    let server = BenchServer::start_services(
        tempfile::tempdir()?,
        Some(service_url.to_owned()),
        None,
        &[ServiceEntry::of::<Partners>()],
        DB_CONNECTIONS,
    )
    .await?;
    let categories: Vec<String> = (0..data::CATEGORIES)
        .map(|c| format!("categories/{}", Uuid::from_u64_pair(3, c as u64)))
        .collect();
    let partners = tiered_partners(&server, &categories).await?;
    server.stop(Duration::from_secs(10)).await;

    let db = stores::open_migrated::<Partners>(service_url, DB_CONNECTIONS).await?;
    let raw = stores::open_migrated::<Partners>(raw_url, DB_CONNECTIONS).await?;
    for d in [&db, &raw] {
        sqlx::query("ANALYZE").execute(d.pool()).await?;
    }
    let handler = Partners::build(context_over(db.clone(), Arc::new(SystemClock)))
        .handlers
        .into_iter()
        .find(|h| h.group() == "partners.order-events")
        .ok_or("the partners service has no order consumer")?;
    let sales = Sales {
        run: u64::from(rand::random::<u32>()),
        partners: Arc::new(partners),
        categories: Arc::new(categories),
    };
    let n = plan.order_events;
    progress(&format!("{n} order events through the order consumer"));
    let service = data::feed(
        ThroughService {
            sales: sales.clone(),
            handler,
        },
        plan.consumers,
        n,
    )
    .await;
    progress("raw: the ledger lines and accrual rows of the same events");
    let baseline = data::feed(
        Raw {
            sales,
            db: raw.clone(),
        },
        plan.consumers,
        n,
    )
    .await;
    let ratio = service.throughput() / baseline.throughput().max(1e-9);
    table.row(
        format!(
            "Commission accrual from {} order.confirmed events (1–3 lines each) through the \
             order consumer, PostgreSQL, {} at once",
            thousands(n as f64),
            plan.consumers
        ),
        load_cell(&service).replace("/s", " events/s"),
        load_cell(&baseline).replace("/s", " events/s"),
        format!("{:.0}% of raw", ratio * 100.0),
        "≥ 10,000 events/s",
        Some(service.errors == 0 && service.throughput() >= 10_000.0),
    );
    let (ours, theirs) = (data::ledger(&db).await?, data::ledger(&raw).await?);
    table.row(
        "Ledger after both runs",
        format!(
            "{} lines, {} fen",
            thousands(ours.0 as f64),
            thousands(ours.1 as f64)
        ),
        format!(
            "{} lines, {} fen",
            thousands(theirs.0 as f64),
            thousands(theirs.1 as f64)
        ),
        "–",
        "the same lines and total",
        Some(ours == theirs),
    );
    for (name, o) in [("Accrual", &service), ("Raw accrual", &baseline)] {
        if let Some(e) = &o.first_error {
            notes.push(format!("{name}: {} errors, the first: {e}", o.errors));
        }
    }
    Ok(())
}

/// A Gold tier with rates for the first categories and no criteria, and partners evaluated
/// into it; the partners' names.
async fn tiered_partners(server: &BenchServer, categories: &[String]) -> Result<Vec<String>> {
    let channel = server.channel().await?;
    let mut tiers = TierServiceClient::with_interceptor(channel.clone(), server.admin()?);
    tiers
        .create_tier(pb::CreateTierRequest {
            tier: Some(pb::Tier {
                display_name: "Gold".into(),
                rank: 1,
                benefits: Some(pb::TierBenefits {
                    commission_rates: data::CATEGORY_BPS
                        .iter()
                        .zip(categories)
                        .map(|(bps, c)| pb::CategoryRate {
                            category: c.clone(),
                            bps: *bps,
                        })
                        .collect(),
                    default_commission_bps: data::DEFAULT_BPS,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?;
    let mut partners = PartnerServiceClient::with_interceptor(channel, server.admin()?);
    let mut names = Vec::with_capacity(ACCRUAL_PARTNERS);
    for i in 0..ACCRUAL_PARTNERS {
        let name = create_partner(&mut partners, i).await?;
        let p = tiers
            .evaluate_partner_tier(pb::EvaluatePartnerTierRequest { name: name.clone() })
            .await?
            .into_inner();
        if p.tier.is_empty() {
            return Err(format!("{name} earned no tier").into());
        }
        names.push(name);
    }
    Ok(names)
}
