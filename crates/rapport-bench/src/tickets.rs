//! `rapport-bench tickets`: the tickets service on PostgreSQL + Redis beside raw baselines in
//! the same run: CreateTicket at concurrency 32 with routing and the SLA computed (capacity
//! violations counted afterwards) against the raw SQL of the same writes, the SLA sweep over
//! 1,000,000 open tickets of which 5% are due against one UPDATE and one INSERT … SELECT, and
//! the ticket report (TK7) over a year of those tickets against one GROUP BY.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rapport_customers::Customers;
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    tickets::{
        self as pb, queue_service_client::QueueServiceClient,
        ticket_service_client::TicketServiceClient,
    },
    types,
};
use rapport_runtime::{
    clock::{Clock, SystemClock},
    context::ServiceEntry,
    storage::Db,
};
use rapport_tickets::{
    Tickets,
    domain::{
        calendar::Calendar,
        settings::CalendarDef,
        sla::{Sla, Targets},
        ticket::{Channel, Priority, State},
    },
};
use tonic::{codegen::InterceptedService, transport::Channel as GrpcChannel};
use uuid::Uuid;

use crate::{
    Result,
    load::{self, Op},
    pool::IdPool,
    report::{TargetTable, load_cell, thousands},
    stores::{self, Bearer, BenchServer, ScratchDatabase, TENANT},
    tickets_data::{self, Column},
};

/// Arguments of `rapport-bench tickets`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds the CreateTicket load is measured [default: 10; 2 with --quick].
    #[arg(long)]
    pub duration_secs: Option<u64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Agents of the queue the tickets are routed in.
    #[arg(long, default_value_t = 200)]
    pub agents: usize,
    /// Customers the tickets are raised for.
    #[arg(long, default_value_t = 200)]
    pub customers: usize,
    /// Open tickets loaded for the SLA sweep and the reports, 5% of them due
    /// [default: 1000000; 50000 with --quick].
    #[arg(long)]
    pub open_tickets: Option<i64>,
    /// Resolved or closed tickets loaded beside them for the reports
    /// [default: 200000; 10000 with --quick].
    #[arg(long)]
    pub resolved_tickets: Option<i64>,
    /// Timed calls of the report, after one warm-up call [default: 20; 5 with --quick].
    #[arg(long)]
    pub runs: Option<usize>,
    /// A short smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Keeps the run's databases (their names are printed) for a look at their plans.
    #[arg(long)]
    pub keep_databases: bool,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

type TicketClient = TicketServiceClient<InterceptedService<GrpcChannel, Bearer>>;

/// Connections per database pool, service and raw alike (as the leads benchmark, for two
/// cores).
pub const DB_CONNECTIONS: u32 = 8;
/// Places per agent: far more than the run fills, so a violation would be a bug, not a full
/// agent.
const CAPACITY: i32 = 1_000;
/// Teams the agents are in.
const TEAMS: usize = 10;
/// The ticket types created, with their categories: every one matches the routing rule and
/// the SLA policy.
const KINDS: [(&str, &str); 4] = [
    ("product_complaint", "delivery damage"),
    ("service_complaint", "installer late"),
    ("service_request", "installation"),
    ("price_inquiry", "promotion"),
];
/// The queue of the raw baseline (the service names its own).
const RAW_QUEUE: &str = "0190a8c2-0000-7000-8000-000000000001";
/// The business calendar's key.
const CALENDAR: &str = "shanghai";
/// The SLA policy of the created tickets.
const POLICY: &str = "Care";

fn progress(what: &str) {
    eprintln!("rapport-bench: tickets: {what}");
}

fn agent_id(i: usize) -> String {
    format!("agent-{i:03}")
}

fn team_of(i: usize) -> String {
    format!("team-{}", i % TEAMS)
}

/// The policy's targets, in working minutes.
fn care_targets() -> Targets {
    Targets {
        first_response_minutes: 60,
        next_response_minutes: 240,
        resolution_minutes: 1_440,
        warning_percent: 80,
    }
}

/// Weekdays 09:00–12:00 and 13:30–18:00 in Shanghai, the National Day week of 2026 closed and
/// its make-up Saturday worked: as the tenant writes it (minutes after midnight).
fn calendar_def() -> CalendarDef {
    let weekday = vec![(9 * 60, 12 * 60), (13 * 60 + 30, 18 * 60)];
    let mut week = vec![weekday; 5];
    week.extend([Vec::new(), Vec::new()]);
    CalendarDef {
        key: CALENDAR.into(),
        time_zone: "Asia/Shanghai".into(),
        week,
        holidays: (1..=7).map(|d| format!("2026-10-{d:02}")).collect(),
        extra_working_days: vec!["2026-10-10".into()],
        extra_day_hours: Vec::new(),
    }
}

/// The same calendar as the service's settings take it.
fn calendar_proto(def: &CalendarDef) -> pb::BusinessCalendar {
    let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    let date = |s: &str| {
        let parts: Vec<i32> = s.split('-').filter_map(|p| p.parse().ok()).collect();
        types::Date {
            year: parts[0],
            month: parts[1],
            day: parts[2],
        }
    };
    pb::BusinessCalendar {
        key: def.key.clone(),
        time_zone: def.time_zone.clone(),
        week: def
            .week
            .iter()
            .map(|day| pb::DayHours {
                intervals: day
                    .iter()
                    .map(|&(start, end)| pb::WorkInterval {
                        start: hm(start),
                        end: hm(end),
                    })
                    .collect(),
            })
            .collect(),
        holidays: def.holidays.iter().map(|d| date(d)).collect(),
        extra_working_days: def.extra_working_days.iter().map(|d| date(d)).collect(),
        extra_day_hours: None,
    }
}

/// Runs the benchmark and prints its report.
pub async fn run(args: Args) -> Result<()> {
    let admin = args.stores.postgres().ok_or(
        "rapport-bench tickets needs PostgreSQL (--postgres-url or RAPPORT_BENCH_POSTGRES_URL)",
    )?;
    let redis = args
        .stores
        .redis()
        .ok_or("rapport-bench tickets needs Redis (--redis-url or RAPPORT_BENCH_REDIS_URL)")?;
    stores::redis_reachable(&redis).await?;
    let prefix = stores::run_prefix();
    let service_db = ScratchDatabase::create(&admin, "bench_tickets").await?;
    let raw_db = ScratchDatabase::create(&admin, "bench_tickets_raw").await?;
    let outcome = measure(&args, &service_db.url, &raw_db.url, &redis, &prefix).await;
    if args.keep_databases {
        eprintln!(
            "rapport-bench: tickets: kept the databases {} and {}",
            service_db.name(),
            raw_db.name()
        );
        std::mem::forget(service_db);
        std::mem::forget(raw_db);
    } else {
        service_db.drop_now().await;
        raw_db.drop_now().await;
    }
    if let Err(e) = stores::clear_redis_prefix(&redis, &prefix).await {
        eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
    }
    println!("{}", outcome?);
    Ok(())
}

async fn start_server(service_url: &str, redis: &str, prefix: &str) -> Result<BenchServer> {
    BenchServer::start_services(
        tempfile::tempdir()?,
        Some(service_url.to_owned()),
        Some((redis.to_owned(), prefix.to_owned())),
        &[
            ServiceEntry::of::<Customers>(),
            ServiceEntry::of::<Tickets>(),
        ],
        DB_CONNECTIONS,
    )
    .await
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
    let open = args
        .open_tickets
        .unwrap_or(if args.quick { 50_000 } else { 1_000_000 })
        .max(20);
    let resolved = args
        .resolved_tickets
        .unwrap_or(if args.quick { 10_000 } else { 200_000 })
        .max(0);
    let runs = args.runs.unwrap_or(if args.quick { 5 } else { 20 }).max(1);
    let mut table = TargetTable::new();
    let mut notes: Vec<String> = Vec::new();

    // 1. CreateTicket.
    let server = start_server(service_url, redis, prefix).await?;
    let raw = stores::open_migrated::<Tickets>(raw_url, DB_CONNECTIONS).await?;
    let svc = stores::open_migrated::<Tickets>(service_url, DB_CONNECTIONS).await?;
    progress(&format!(
        "seeding {} agents, their queue, the settings and {} customers",
        args.agents, args.customers
    ));
    let channel = server.channel().await?;
    let customers = setup(&server, channel.clone(), args.agents, args.customers).await?;
    tickets_data::set_bulk_settings(&server, channel.clone()).await?;
    seed_raw(&raw, args.agents).await?;
    let customers = IdPool::new(customers);
    progress("CreateTicket through the service");
    let mut ops = Vec::new();
    for i in 0..args.concurrency {
        let ch = if i % 4 == 0 {
            server.channel().await?
        } else {
            channel.clone()
        };
        ops.push(CreateTicket {
            client: TicketServiceClient::with_interceptor(ch, server.admin()?),
            customers: customers.worker(i as u64),
            n: i,
        });
    }
    // Analyzed after the seeding and again after the warm-up, as autovacuum keeps a database
    // in use analyzed: planned for empty tables, the take joins the agents with their queue
    // row by row and costs 10 ms instead of 1.
    analyze(&svc).await?;
    analyze(&raw).await?;
    let create = load::run(ops, warmup, window, async {
        let _ = analyze(&svc).await;
    })
    .await;
    progress("raw: the same writes");
    let cal = Arc::new(
        calendar_def()
            .build()
            .map_err(|e| format!("the bench's calendar: {e:?}"))?,
    );
    let raw_ops = (0..args.concurrency)
        .map(|i| RawCreate {
            db: raw.clone(),
            customers: customers.worker(i as u64),
            cal: cal.clone(),
            n: i,
        })
        .collect();
    let insert = load::run(raw_ops, warmup, window, async {
        let _ = analyze(&raw).await;
    })
    .await;
    let ratio = create.throughput() / insert.throughput().max(1e-9);
    table.row(
        format!(
            "CreateTicket at concurrency {}: routed in a queue of {} agents, SLA on a business \
             calendar, customer checked over gRPC",
            args.concurrency, args.agents
        ),
        load_cell(&create),
        load_cell(&insert),
        format!("{:.0}% of raw", ratio * 100.0),
        "≥ 50% of raw throughput",
        Some(create.ok > 0 && create.errors == 0 && ratio >= 0.5),
    );
    let p99 = create.quantile_ms(0.99);
    table.row(
        "CreateTicket p99",
        format!("{p99:.2} ms"),
        format!("{:.2} ms", insert.quantile_ms(0.99)),
        "–",
        "< 20 ms",
        Some(create.ok > 0 && p99 < 20.0),
    );
    let checks = capacity_checks(&svc).await?;
    table.row(
        "Capacity after the CreateTicket run",
        checks.describe(),
        "–",
        "–",
        "0 agents over capacity; every agent's open_tickets = its assigned active tickets",
        Some(checks.violations() == 0),
    );
    for (name, o) in [("CreateTicket", &create), ("raw", &insert)] {
        if let Some(e) = &o.first_error {
            notes.push(format!("{name}: {} errors, the first: {e}", o.errors));
        }
    }
    drop(channel);
    let _ = server.stop(Duration::from_secs(30)).await;

    // 2. The SLA sweep and 3. reports, on tickets loaded straight into the databases.
    let bulk = tickets_data::Bulk {
        open,
        resolved,
        now: SystemClock.now(),
    };
    tickets_data::sweep_and_report(
        &bulk,
        (&svc, service_url),
        (&raw, raw_url),
        runs,
        || start_server(service_url, redis, prefix),
        &mut table,
        &mut notes,
    )
    .await?;

    let mut out = format!(
        "## rapport-bench tickets\n\n{DB_CONNECTIONS} database connections per pool, service \
         and raw alike; CreateTicket measured {} s after {:.1} s of warm-up, {} workers; \
         {} open tickets (5% due) and {} resolved or closed ones loaded for the sweep and the \
         report.\n\n",
        window.as_secs(),
        warmup.as_secs_f64(),
        args.concurrency,
        thousands(open as f64),
        thousands(resolved as f64)
    );
    out.push_str(&table.markdown());
    if !notes.is_empty() {
        out.push_str("\n### Notes\n\n");
        for n in notes {
            out.push_str(&format!("- {n}\n"));
        }
    }
    Ok(out)
}

/// The agents, their queue, the settings (the calendar, the SLA policy, the routing rule) and
/// `n` customers, through the services as an admin; the customers' names.
async fn setup(
    server: &BenchServer,
    channel: GrpcChannel,
    agents: usize,
    n: usize,
) -> Result<Vec<String>> {
    let mut queues = QueueServiceClient::with_interceptor(channel.clone(), server.admin()?);
    for i in 0..agents {
        queues
            .create_agent(pb::CreateAgentRequest {
                agent_id: agent_id(i),
                agent: Some(pb::Agent {
                    display_name: format!("Agent {i}"),
                    team_id: team_of(i),
                    supervisor_id: format!("lead-{}", i % TEAMS),
                    capacity: CAPACITY,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    let queue = queues
        .create_queue(pb::CreateQueueRequest {
            queue: Some(pb::Queue {
                display_name: "Care".into(),
                strategy: pb::RoutingStrategy::RoundRobin.into(),
                members: (0..agents).map(agent_id).collect(),
                team_id: "care".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .name;
    let types: Vec<String> = KINDS.iter().map(|(t, _)| (*t).to_owned()).collect();
    let targets = care_targets();
    let mut tickets = TicketServiceClient::with_interceptor(channel.clone(), server.admin()?);
    tickets
        .update_ticket_settings(pb::UpdateTicketSettingsRequest {
            settings: Some(pb::TicketSettings {
                routing_rules: vec![pb::RoutingRule {
                    display_name: "Care".into(),
                    conditions: Some(pb::TicketConditions {
                        types: types.clone(),
                        ..Default::default()
                    }),
                    queue: queue.clone(),
                }],
                calendars: vec![calendar_proto(&calendar_def())],
                sla_policies: vec![pb::SlaPolicy {
                    display_name: POLICY.into(),
                    conditions: Some(pb::TicketConditions {
                        types,
                        ..Default::default()
                    }),
                    calendar: CALENDAR.into(),
                    first_response_minutes: targets.first_response_minutes,
                    next_response_minutes: targets.next_response_minutes,
                    resolution_minutes: targets.resolution_minutes,
                    warning_percent: targets.warning_percent,
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![
                    "routing_rules".into(),
                    "calendars".into(),
                    "sla_policies".into(),
                ],
            }),
            etag: String::new(),
        })
        .await?;
    let mut people = CustomerServiceClient::with_interceptor(channel, server.admin()?);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let c = people
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: format!("customer {i}"),
                    phones: vec![cpb::Phone {
                        number: format!("+86137{:08}", i),
                        ..Default::default()
                    }],
                    grade: ["A", "B", "C"][i % 3].into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        names.push(c.name);
    }
    Ok(names)
}

async fn analyze(db: &Db) -> Result<()> {
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    Ok(())
}

/// The raw baseline's agents and queue: the same rows routing counts on.
async fn seed_raw(db: &Db, agents: usize) -> Result<()> {
    sqlx::query(
        "INSERT INTO agents (tenant_id, id, display_name, team_id, supervisor_id, status, skills, \
         capacity, update_time, version) \
         SELECT $1, 'agent-' || lpad(g::text, 3, '0'), 'Agent ' || g, 'team-' || (g % $2), \
         'lead-' || (g % $2), 'AVAILABLE', '[]', $3, 0, 1 FROM generate_series(0, $4 - 1) g",
    )
    .bind(TENANT)
    .bind(TEAMS as i64)
    .bind(i64::from(CAPACITY))
    .bind(agents as i64)
    .execute(db.pool())
    .await?;
    sqlx::query(
        "INSERT INTO queue_members (tenant_id, queue_id, agent_id) \
         SELECT $1, $2, id FROM agents WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .bind(RAW_QUEUE)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What the capacity check found.
struct CapacityChecks {
    agents: i64,
    over: i64,
    differ: i64,
    assigned: i64,
    waiting: i64,
}

impl CapacityChecks {
    fn violations(&self) -> i64 {
        self.over + self.differ
    }

    fn describe(&self) -> String {
        format!(
            "{} of {} agents over capacity, {} whose open_tickets differ from their assigned \
             active tickets; {} tickets assigned, {} waiting",
            self.over, self.agents, self.differ, self.assigned, self.waiting
        )
    }
}

/// Agents over capacity, and agents whose counter is not the count of their assigned active
/// tickets, on the service's database.
async fn capacity_checks(db: &Db) -> Result<CapacityChecks> {
    let (agents, over): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE open_tickets > capacity) FROM agents \
         WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    let differ: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents a LEFT JOIN (SELECT assignee, count(*) AS n FROM tickets \
         WHERE tenant_id = $1 AND assignee <> '' AND state NOT IN ('RESOLVED', 'CLOSED') \
         GROUP BY assignee) t ON t.assignee = a.id \
         WHERE a.tenant_id = $1 AND a.open_tickets <> coalesce(t.n, 0)",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    let (assigned, waiting): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE assignee <> ''), count(*) FILTER (WHERE waiting = 1) \
         FROM tickets WHERE tenant_id = $1",
    )
    .bind(TENANT)
    .fetch_one(db.pool())
    .await?;
    Ok(CapacityChecks {
        agents,
        over,
        differ,
        assigned,
        waiting,
    })
}

/// The `n`-th request's type, category, channel and priority.
fn kind_of(n: usize) -> (&'static str, &'static str, Channel, Priority) {
    let (ticket_type, category) = KINDS[n % KINDS.len()];
    let channel = Channel::ALL[(n / KINDS.len()) % Channel::ALL.len()];
    let priority = Priority::ALL[n % 3];
    (ticket_type, category, channel, priority)
}

fn subject(n: usize) -> String {
    format!("Order #{n}: the sofa arrived with a scratch on the left armrest")
}

const DESCRIPTION: &str = "The customer called the store: the delivery came two days late and \
     the armrest has a deep scratch. She asks for a repair or a replacement before the weekend.";

/// One worker creating tickets for customers drawn from a pool, without naming a queue: the
/// routing rule picks it, its round robin the agent, the policy the SLA.
struct CreateTicket {
    client: TicketClient,
    customers: IdPool,
    n: usize,
}

impl CreateTicket {
    async fn create(&mut self) -> std::result::Result<(), String> {
        self.n += 32;
        let (ticket_type, category, channel, priority) = kind_of(self.n);
        let ticket = pb::Ticket {
            r#type: ticket_type.into(),
            subject: subject(self.n),
            description: DESCRIPTION.into(),
            priority: match priority {
                Priority::Low => pb::Priority::Low,
                Priority::Normal => pb::Priority::Normal,
                Priority::High => pb::Priority::High,
                Priority::Urgent => pb::Priority::Urgent,
            }
            .into(),
            channel: match channel {
                Channel::Phone => pb::Channel::Phone,
                Channel::Store => pb::Channel::Store,
                Channel::Im => pb::Channel::Im,
                Channel::Email => pb::Channel::Email,
                Channel::Web => pb::Channel::Web,
                Channel::Partner => pb::Channel::Partner,
            }
            .into(),
            customer: self.customers.next_id().to_owned(),
            category: category.into(),
            ..Default::default()
        };
        let made = self
            .client
            .create_ticket(pb::CreateTicketRequest {
                ticket: Some(ticket),
                request_id: Uuid::now_v7().simple().to_string(),
            })
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
            .into_inner();
        if made.assignee.is_empty() || made.sla_targets.is_empty() {
            return Err(format!("{} was not routed or has no SLA", made.name));
        }
        Ok(())
    }
}

impl Op for CreateTicket {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.create()
    }
}

/// The SQL every take of the service's round robin runs: one conditional UPDATE of the
/// queue's member that waited longest, among those with room, skipping rows other writers
/// hold.
const TAKE: &str = "UPDATE agents SET open_tickets = open_tickets + 1, last_assign_time = $2, \
     assigned_total = assigned_total + 1 \
     WHERE tenant_id = $1 AND open_tickets < capacity AND id = (SELECT id FROM agents \
     WHERE tenant_id = $1 AND id IN (SELECT m.agent_id FROM queue_members m \
     WHERE m.tenant_id = $1 AND m.queue_id = $3) AND status = 'AVAILABLE' \
     AND open_tickets < capacity ORDER BY last_assign_time, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, team_id, open_tickets, capacity";

/// One worker of the raw baseline: per ticket, one transaction with the take of an agent's
/// place, the ticket's row with its document (built with the service's own domain types, its
/// SLA started on the same calendar) and its two history entries in one INSERT, as the service
/// writes them.
struct RawCreate {
    db: Db,
    customers: IdPool,
    cal: Arc<Calendar>,
    n: usize,
}

impl RawCreate {
    async fn insert(&mut self) -> std::result::Result<(), String> {
        self.n += 32;
        let (ticket_type, category, channel, priority) = kind_of(self.n);
        let customer = self
            .customers
            .next_id()
            .trim_start_matches("customers/")
            .parse::<Uuid>()
            .map_err(|e| e.to_string())?;
        let now = SystemClock.now();
        let mut t = tickets_data::blank(Uuid::now_v7(), now);
        t.ticket_type = ticket_type.into();
        t.subject = subject(self.n);
        t.description = DESCRIPTION.into();
        t.priority = priority;
        t.channel = channel;
        t.customer_id = customer;
        t.category = category.into();
        t.customer_grade = "A".into();
        t.queue_id = RAW_QUEUE.into();
        t.creator_id = "bench-admin".into();
        t.state = State::New;
        t.sla = Some(Sla::start(
            POLICY,
            CALENDAR,
            &care_targets(),
            &self.cal,
            now,
        ));
        let e = |e: sqlx::Error| e.to_string();
        let mut tx = self.db.pool().begin().await.map_err(e)?;
        let (agent, team, open, capacity): (String, String, i64, i64) = sqlx::query_as(TAKE)
            .bind(TENANT)
            .bind(now)
            .bind(RAW_QUEUE)
            .fetch_one(&mut *tx)
            .await
            .map_err(e)?;
        t.routing_reason = format!(
            "the routing rule \"Care\": queues/{RAW_QUEUE} (Care); round robin: agents/{agent} \
             waited longest among the available agents with room and now holds {open} of its \
             {capacity} places"
        );
        t.assignee = agent;
        t.team_id = team;
        let mut q = sqlx::query(tickets_data::INSERT_TICKET).bind(TENANT);
        for c in tickets_data::columns(&t).map_err(|e| e.to_string())? {
            q = match c {
                Column::Text(s) => q.bind(s),
                Column::Int(i) => q.bind(i),
                Column::OptInt(i) => q.bind(i),
            };
        }
        q.execute(&mut *tx).await.map_err(e)?;
        let id = t.id.to_string();
        sqlx::query(
            "INSERT INTO ticket_events (tenant_id, ticket_id, id, kind, actor_id, detail, rule, \
             create_time) VALUES ($1, $2, $3, 'created', $4, $5, '', $6), \
             ($1, $2, $7, 'routed', $4, $8, '', $6)",
        )
        .bind(TENANT)
        .bind(id.as_str())
        .bind(Uuid::now_v7().to_string())
        .bind("bench-admin")
        .bind(t.subject.as_str())
        .bind(now)
        .bind(Uuid::now_v7().to_string())
        .bind(t.routing_reason.as_str())
        .execute(&mut *tx)
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        Ok(())
    }
}

impl Op for RawCreate {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.insert()
    }
}

/// Waits until `db`'s outbox is empty (the relay published what the bench's own writes left
/// there) or `patience` passed; the rows left.
pub async fn drain_outbox(db: &Db, patience: Duration) -> Result<i64> {
    let end = Instant::now() + patience;
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(db.pool())
            .await?;
        if left == 0 || Instant::now() > end {
            return Ok(left);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
