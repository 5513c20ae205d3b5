//! The tickets loaded straight into the databases for `rapport-bench tickets`, and the two
//! scenarios measured on them: the SLA sweep (the service's own `sweeps::sweep_sla` on a
//! context over its database, beside one UPDATE and one INSERT … SELECT on the raw database
//! holding the same rows) and the ticket report (TK7) over gRPC, beside one GROUP BY.
//!
//! Each ticket is built with the service's domain types and lived through them: created with
//! its SLA started (`Sla::start`, around the clock), answered, for some resolved (with a
//! satisfaction answer), reopened, escalated or closed, the clocks checked at each step as the
//! sweep would have; open tickets last heard from their customer, which started the next
//! response's clock. Its row is the document serialized with serde_json and the columns the
//! store writes beside it, `sla_check` from `Ticket::sla_check()`.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rapport_proto::{
    tickets::{
        self as pb, ticket_analytics_service_client::TicketAnalyticsServiceClient,
        ticket_service_client::TicketServiceClient,
    },
    types,
};
use rapport_runtime::{
    clock::{Micros, SystemClock},
    storage::Db,
};
use rapport_tickets::{
    App,
    domain::{
        calendar::Calendar,
        sla::{Sla, SlaState, TargetKind, Targets},
        ticket::{BUILT_IN_TYPES, Channel, Priority, Satisfaction, State, Ticket},
    },
    sweeps,
};
use sqlx::{Connection, Executor, Row, postgres::PgConnection};
use tonic::transport::Channel as GrpcChannel;
use uuid::Uuid;

use crate::{
    Result,
    load::{quantile_ms, sorted_micros},
    report::{TargetTable, thousands},
    stores::BenchServer,
    tickets::drain_outbox,
};

/// The tenant the tickets are loaded in.
pub const BULK_TENANT: &str = "bench-tickets";
const MINUTE: Micros = 60_000_000;
const HOUR: Micros = 60 * MINUTE;
const DAY: Micros = 24 * HOUR;
/// Tickets per COPY chunk.
const CHUNK: i64 = 10_000;
/// The SLA sweep's target.
const SWEEP_TARGET: Duration = Duration::from_secs(5);
/// The report's target (p99).
const REPORT_TARGET_MS: f64 = 500.0;
/// Agents the loaded tickets are assigned to, and their queues.
const AGENTS: u64 = 200;
const QUEUES: [&str; 4] = [
    "0190a8c2-0000-7000-8000-0000000000a1",
    "0190a8c2-0000-7000-8000-0000000000a2",
    "0190a8c2-0000-7000-8000-0000000000a3",
    "0190a8c2-0000-7000-8000-0000000000a4",
];
/// Customers the loaded tickets are spread over.
const CUSTOMERS: u64 = 50_000;
/// Categories by type (complaints' categories are what the report ranks).
const CATEGORIES: [&[&str]; 7] = [
    &["opening hours", "product range", "delivery area"],
    &["promotion", "price match", "member price"],
    &[
        "delivery damage",
        "defect",
        "wrong colour",
        "missing part",
        "fabric pilling",
        "wobbly legs",
    ],
    &[
        "installer late",
        "rude staff",
        "delivery late",
        "no callback",
    ],
    &["installation", "assembly", "measurement"],
    &["changed mind", "defect", "wrong size"],
    &["wrong size", "wrong colour"],
];

/// What is loaded: `open` tickets (5% of them due at the sweep) and `resolved` resolved or
/// closed ones, created over the year before `now`.
pub struct Bulk {
    pub open: i64,
    pub resolved: i64,
    pub now: Micros,
}

/// The loaded tenant's SLA policy: around the clock, at risk at half the budget.
fn bulk_targets() -> Targets {
    Targets {
        first_response_minutes: 60,
        next_response_minutes: 480,
        resolution_minutes: 3 * 24 * 60,
        warning_percent: 50,
    }
}

/// The loaded tenant's settings, through the service: the policy its tickets were started on.
pub async fn set_bulk_settings(server: &BenchServer, channel: GrpcChannel) -> Result<()> {
    let targets = bulk_targets();
    let mut tickets = TicketServiceClient::with_interceptor(channel, server.admin_of(BULK_TENANT)?);
    tickets
        .update_ticket_settings(pb::UpdateTicketSettingsRequest {
            settings: Some(pb::TicketSettings {
                sla_policies: vec![pb::SlaPolicy {
                    display_name: "Standard".into(),
                    conditions: None,
                    calendar: String::new(),
                    first_response_minutes: targets.first_response_minutes,
                    next_response_minutes: targets.next_response_minutes,
                    resolution_minutes: targets.resolution_minutes,
                    warning_percent: targets.warning_percent,
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["sla_policies".into()],
            }),
            etag: String::new(),
        })
        .await?;
    Ok(())
}

/// A NEW ticket `id` created at `now`, without content, queue or SLA.
pub fn blank(id: Uuid, now: Micros) -> Ticket {
    Ticket {
        id,
        ticket_type: String::new(),
        subject: String::new(),
        description: String::new(),
        priority: Priority::Normal,
        channel: Channel::Phone,
        customer_id: Uuid::nil(),
        order_id: None,
        order_lines: Vec::new(),
        return_lines: Vec::new(),
        category: String::new(),
        store: String::new(),
        tags: Vec::new(),
        fields: BTreeMap::new(),
        queue_id: String::new(),
        assignee: String::new(),
        team_id: String::new(),
        routing_reason: String::new(),
        escalated_to: String::new(),
        state: State::New,
        sla: None,
        escalation_level: 0,
        customer_grade: String::new(),
        fired: Vec::new(),
        return_name: String::new(),
        return_state: String::new(),
        merged_into: None,
        reopen_count: 0,
        satisfaction: None,
        first_response_time: None,
        resolve_time: None,
        resolved_by: String::new(),
        close_time: None,
        creator_id: String::new(),
        create_time: now,
        update_time: now,
        version: 1,
    }
}

/// A value of a ticket's row.
pub enum Column {
    Text(String),
    Int(i64),
    OptInt(Option<i64>),
}

/// The columns of `tickets` after the tenant, in the store's order.
const COLUMNS: &str = "tenant_id, id, ticket_type, priority, channel, state, customer_id, \
     order_id, queue_id, assignee, team_id, category, store, sla_breached, sla_check, \
     sla_first_response, sla_next_response, sla_resolution, first_response_seconds, \
     resolution_seconds, resolved_by, resolve_time, reopen_count, satisfaction, waiting, doc, \
     create_time, update_time, version";

/// The store's INSERT of one ticket, the tenant first.
pub const INSERT_TICKET: &str = "INSERT INTO tickets (tenant_id, id, ticket_type, priority, \
     channel, state, customer_id, order_id, queue_id, assignee, team_id, category, store, \
     sla_breached, sla_check, sla_first_response, sla_next_response, sla_resolution, \
     first_response_seconds, resolution_seconds, resolved_by, resolve_time, reopen_count, \
     satisfaction, waiting, doc, create_time, update_time, version) VALUES ($1, $2, $3, $4, \
     $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
     $23, $24, $25, $26, $27, $28, $29)";

/// A target's outcome as reports count it: 0 open or none, 1 met in time, 2 breached.
fn outcome(t: &Ticket, kind: TargetKind) -> i64 {
    match t.sla.as_ref().and_then(|s| s.get(kind)) {
        Some(x) if x.breached => 2,
        Some(x) if x.state == SlaState::Met => 1,
        _ => 0,
    }
}

/// Working seconds a met target took.
fn met_seconds(t: &Ticket, kind: TargetKind) -> Option<i64> {
    t.sla
        .as_ref()
        .and_then(|s| s.get(kind))
        .filter(|x| x.met_time.is_some())
        .map(|x| x.used / 1_000_000)
}

/// The values the store writes for `t` after the tenant: its document as JSON and the columns
/// lists, the sweep and reports read beside it.
pub fn columns(t: &Ticket) -> serde_json::Result<Vec<Column>> {
    use Column::{Int, OptInt, Text};
    Ok(vec![
        Text(t.id.to_string()),
        Text(t.ticket_type.clone()),
        Int(t.priority.rank()),
        Text(t.channel.as_str().to_owned()),
        Text(t.state.as_str().to_owned()),
        Text(t.customer_id.to_string()),
        Text(t.order_id.map(|o| o.to_string()).unwrap_or_default()),
        Text(t.queue_id.clone()),
        Text(t.assignee.clone()),
        Text(t.team_id.clone()),
        Text(t.category.clone()),
        Text(t.store.clone()),
        Int(i64::from(t.sla_breached())),
        OptInt(t.sla_check()),
        Int(outcome(t, TargetKind::FirstResponse)),
        Int(outcome(t, TargetKind::NextResponse)),
        Int(outcome(t, TargetKind::Resolution)),
        OptInt(met_seconds(t, TargetKind::FirstResponse)),
        OptInt(met_seconds(t, TargetKind::Resolution)),
        Text(t.resolved_by.clone()),
        OptInt(t.resolve_time),
        Int(i64::from(t.reopen_count)),
        OptInt(t.satisfaction.as_ref().map(|s| i64::from(s.score))),
        Int(i64::from(t.assignee.is_empty() && t.state.is_active())),
        Text(serde_json::to_string(t)?),
        Int(t.create_time),
        Int(t.update_time),
        Int(t.version),
    ])
}

/// Appends one row of COPY's text format.
fn copy_row(out: &mut Vec<u8>, tenant: &str, cols: &[Column]) {
    fn text(out: &mut Vec<u8>, s: &str) {
        for b in s.bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
    }
    text(out, tenant);
    for c in cols {
        out.push(b'\t');
        match c {
            Column::Text(s) => text(out, s),
            Column::Int(i) | Column::OptInt(Some(i)) => {
                out.extend_from_slice(i.to_string().as_bytes())
            }
            Column::OptInt(None) => out.extend_from_slice(b"\\N"),
        }
    }
    out.push(b'\n');
}

/// Moves `t`'s clocks on to `at`, as the sweep would have (the loaded tenant has no escalation
/// rules).
fn check(t: &mut Ticket, at: Micros) {
    if let Some(sla) = t.sla.as_mut() {
        sla.check(at);
    }
}

/// Takes `t` to `to` at `at`; the workflow allows every step the generator takes.
fn step(t: &mut Ticket, cal: &Calendar, to: State, at: Micros, actor: &str) {
    check(t, at);
    if t.step(to, cal, at, actor, 7).is_ok() {
        t.version += 1;
        t.update_time = at;
    }
}

/// The `i`-th loaded ticket: open (due at the sweep when `due`) or resolved.
fn generate(
    rng: &mut SmallRng,
    cal: &Calendar,
    targets: &Targets,
    now: Micros,
    open: bool,
    due: bool,
) -> Ticket {
    // Created over the year before `now`, at least a month ago, so every clock but the one
    // the customer's last message started has run out or stopped.
    let c = now - 364 * DAY + rng.random_range(0..334 * DAY);
    let id = Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        (c / 1_000_000) as u64,
        ((c % 1_000_000) * 1000) as u32,
    ));
    let mut t = blank(id, c);
    let kind = match rng.random_range(0..100) {
        0..20 => 0,
        20..35 => 1,
        35..60 => 2,
        60..72 => 3,
        72..88 => 4,
        88..96 => 5,
        _ => 6,
    };
    t.ticket_type = BUILT_IN_TYPES[kind].0.to_owned();
    let categories = CATEGORIES[kind];
    t.category = categories[rng.random_range(0..categories.len())].to_owned();
    t.channel = Channel::ALL[rng.random_range(0..Channel::ALL.len())];
    t.priority = Priority::ALL[rng.random_range(0..Priority::ALL.len())];
    t.customer_id = Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(rng.random_range(0..CUSTOMERS)),
    );
    t.customer_grade = ["A", "B", "C", ""][rng.random_range(0..4)].to_owned();
    if t.ticket_type == "return_request" || t.ticket_type == "exchange_request" {
        t.order_id = Some(Uuid::from_u128(rng.random()));
    }
    if t.channel == Channel::Store {
        t.store = format!("store-{:02}", rng.random_range(0..40));
    }
    if rng.random_bool(0.2) {
        t.tags = vec!["vip".to_owned()];
    }
    t.subject = format!(
        "Order #{}: {} — customer asks for help",
        rng.random_range(100_000..999_999),
        t.category
    );
    t.description = "The customer called about the delivery of the living room set: the sofa \
                     came a day late and one armrest is scratched; she asks for a repair visit \
                     before Saturday or a replacement."
        .to_owned();
    let agent = rng.random_range(0..AGENTS) as usize;
    let queue = QUEUES[agent % QUEUES.len()];
    t.queue_id = queue.to_owned();
    t.assignee = format!("agent-{agent:03}");
    t.team_id = format!("team-{}", agent % 10);
    t.routing_reason = format!(
        "the routing rule \"Care\": queues/{queue} (Care); round robin: agents/{} waited \
         longest among the available agents with room",
        t.assignee
    );
    t.creator_id = if rng.random_bool(0.5) {
        "web-portal".to_owned()
    } else {
        t.assignee.clone()
    };
    t.sla = Some(Sla::start("Standard", "", targets, cal, c));
    // The first response, within two hours: a fifth are late.
    let answered = c + rng.random_range(5 * MINUTE..120 * MINUTE);
    check(&mut t, answered);
    t.respond(cal, answered);
    t.version += 1;
    t.update_time = answered;
    let assignee = t.assignee.clone();
    if open {
        let roll = rng.random_range(0..100);
        if roll < 10 {
            let resolved = answered + rng.random_range(2 * HOUR..5 * DAY);
            step(&mut t, cal, State::Resolved, resolved, &assignee);
            if rng.random_bool(0.5) {
                t.satisfaction = Some(Satisfaction {
                    score: rng.random_range(1..=3),
                    comment: "still not fixed".to_owned(),
                    answer_time: resolved + 2 * HOUR,
                });
            }
            let reopened = resolved + rng.random_range(HOUR..6 * DAY);
            step(&mut t, cal, State::Reopened, reopened, "web-portal");
        } else if roll < 16 {
            let escalated = answered + rng.random_range(HOUR..3 * DAY);
            step(&mut t, cal, State::Escalated, escalated, &assignee);
            t.escalated_to = format!("lead-{}", agent % 10);
            t.escalation_level = 2;
        }
        // The customer's last message started the next response's clock: at risk at half of
        // its 8 hours. The due 5% wrote 4 to 6 hours ago, the others in the last 2 hours.
        let wrote = if due {
            now - rng.random_range(4 * HOUR + 6 * MINUTE..6 * HOUR)
        } else {
            now - rng.random_range(MINUTE..2 * HOUR)
        };
        check(&mut t, wrote);
        t.customer_wrote(cal, wrote);
        t.version += 1;
        t.update_time = wrote;
    } else {
        let resolved = answered + rng.random_range(HOUR..6 * DAY);
        step(&mut t, cal, State::Resolved, resolved, &assignee);
        let mut last = resolved;
        if rng.random_bool(0.15) {
            step(&mut t, cal, State::Reopened, resolved + DAY, "web-portal");
            last = resolved + 2 * DAY;
            step(&mut t, cal, State::Resolved, last, &assignee);
        }
        if rng.random_bool(0.6) {
            t.satisfaction = Some(Satisfaction {
                score: [1, 2, 3, 4, 4, 5, 5, 5][rng.random_range(0..8)],
                comment: String::new(),
                answer_time: last + 3 * HOUR,
            });
        }
        if rng.random_bool(0.5) {
            step(&mut t, cal, State::Closed, last + 3 * DAY, &assignee);
        }
    }
    t
}

/// What the load wrote.
struct Loaded {
    due: i64,
    bytes: u64,
    elapsed: Duration,
}

/// Generates the tickets and COPYs the same rows into both databases at once.
async fn load(bulk: &Bulk, urls: [String; 2]) -> Result<Loaded> {
    let started = Instant::now();
    let mut senders = Vec::new();
    let mut writers = Vec::new();
    for url in urls {
        let (send, mut receive) = tokio::sync::mpsc::channel::<std::sync::Arc<Vec<u8>>>(4);
        senders.push(send);
        writers.push(tokio::spawn(async move {
            let mut conn = PgConnection::connect(&url).await?;
            conn.execute("SET search_path TO tickets").await?;
            let mut copy = conn
                .copy_in_raw(&format!("COPY tickets ({COLUMNS}) FROM STDIN"))
                .await?;
            while let Some(chunk) = receive.recv().await {
                copy.send(chunk.as_slice()).await?;
            }
            copy.finish().await?;
            conn.close().await?;
            Ok::<(), sqlx::Error>(())
        }));
    }
    let (open, resolved, now) = (bulk.open, bulk.resolved, bulk.now);
    let generator = tokio::task::spawn_blocking(move || -> Result<(i64, u64)> {
        let cal = Calendar::always();
        let targets = bulk_targets();
        let mut rng = SmallRng::seed_from_u64(42);
        let total = open + resolved;
        let (mut due, mut bytes) = (0, 0u64);
        let mut i = 0;
        while i < total {
            let end = (i + CHUNK).min(total);
            let mut chunk = Vec::with_capacity(((end - i) * 2_600) as usize);
            for n in i..end {
                // Every twentieth open ticket is due.
                let is_open = n < open;
                let is_due = is_open && n % 20 == 0;
                let t = generate(&mut rng, &cal, &targets, now, is_open, is_due);
                let check = t.sla_check();
                if is_due != check.is_some_and(|c| c <= now) || (is_open && check.is_none()) {
                    return Err(format!(
                        "generated ticket {n} is not as planned: open {is_open}, due {is_due}, \
                         sla_check {check:?}, now {now}"
                    )
                    .into());
                }
                due += i64::from(is_due);
                copy_row(&mut chunk, BULK_TENANT, &columns(&t)?);
            }
            bytes += chunk.len() as u64;
            let chunk = std::sync::Arc::new(chunk);
            for s in &senders {
                if s.blocking_send(chunk.clone()).is_err() {
                    return Err("a COPY stream ended early".into());
                }
            }
            i = end;
        }
        Ok((due, bytes))
    });
    let generated = generator.await.map_err(|e| format!("generator: {e}"))?;
    for w in writers {
        w.await.map_err(|e| format!("COPY task: {e}"))??;
    }
    let (due, bytes) = generated?;
    Ok(Loaded {
        due,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// As autovacuum would leave the tables: analyzed, and visible to index-only scans.
async fn vacuum(db: &Db) -> Result<()> {
    let mut conn = db.pool().acquire().await?;
    for table in ["tickets", "ticket_events", "agents"] {
        (&mut *conn)
            .execute(format!("VACUUM ANALYZE {table}").as_str())
            .await?;
    }
    Ok(())
}

/// Loads the tickets into the service's database (`svc`, no server running on it) and the raw
/// one, times the service's SLA sweep and its raw baseline, then starts the service with
/// `start` and times GetTicketReport over the year and its raw GROUP BY; adds the rows.
#[allow(clippy::too_many_arguments)]
pub async fn sweep_and_report<F, Fut>(
    bulk: &Bulk,
    (svc, svc_url): (&Db, &str),
    (raw, raw_url): (&Db, &str),
    runs: usize,
    start: F,
    table: &mut TargetTable,
    notes: &mut Vec<String>,
) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<BenchServer>>,
{
    eprintln!(
        "rapport-bench: tickets: loading {} open and {} resolved tickets into both databases",
        bulk.open, bulk.resolved
    );
    let loaded = load(bulk, [svc_url.to_owned(), raw_url.to_owned()]).await?;
    let vacuumed = Instant::now();
    vacuum(svc).await?;
    vacuum(raw).await?;
    notes.push(format!(
        "Loaded {} tickets ({} MB of COPY text per database, {} due at the sweep) in {:.0} s, \
         vacuumed and analyzed in {:.0} s.",
        thousands((bulk.open + bulk.resolved) as f64),
        loaded.bytes / 1_000_000,
        thousands(loaded.due as f64),
        loaded.elapsed.as_secs_f64(),
        vacuumed.elapsed().as_secs_f64()
    ));

    // The service's sweep: its own code on a context over its database.
    eprintln!("rapport-bench: tickets: the SLA sweep");
    let now = rapport_runtime::clock::Clock::now(&SystemClock);
    let app = App::new(rapport_testkit::context_over(
        svc.clone(),
        std::sync::Arc::new(SystemClock),
    ));
    let started = Instant::now();
    let swept = sweeps::sweep_sla(&app, now).await?;
    let sweep = started.elapsed();
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE tenant_id = $1 AND sla_check <= $2")
            .bind(BULK_TENANT)
            .bind(now)
            .fetch_one(svc.pool())
            .await?;
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT ticket_id) FROM ticket_events WHERE tenant_id = $1 \
         AND kind IN ('sla_at_risk', 'sla_breached')",
    )
    .bind(BULK_TENANT)
    .fetch_one(svc.pool())
    .await?;
    eprintln!("rapport-bench: tickets: raw: the same sweep in SQL");
    let raw_sweep = raw_sweep(raw, now).await?;
    let raw_left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE tenant_id = $1 AND sla_check <= $2")
            .bind(BULK_TENANT)
            .bind(now)
            .fetch_one(raw.pool())
            .await?;
    table.row(
        format!(
            "SLA sweep: {} open tickets, {} due (`sweeps::sweep_sla` to completion)",
            thousands(bulk.open as f64),
            thousands(loaded.due as f64)
        ),
        format!(
            "{:.2} s ({} tickets, {}/s)",
            sweep.as_secs_f64(),
            thousands(swept as f64),
            thousands(swept as f64 / sweep.as_secs_f64().max(1e-9))
        ),
        format!(
            "{:.2} s (one UPDATE + one INSERT … SELECT, {} rows)",
            raw_sweep.1.as_secs_f64(),
            thousands(raw_sweep.0 as f64)
        ),
        format!(
            "{:.1}× the raw time",
            sweep.as_secs_f64() / raw_sweep.1.as_secs_f64().max(1e-9)
        ),
        "< 5 s",
        Some(sweep < SWEEP_TARGET),
    );
    table.row(
        "SLA sweep: nothing left due, each due ticket recorded",
        format!(
            "{left} tickets with sla_check ≤ now; {} tickets with an sla_at_risk or \
             sla_breached entry",
            thousands(recorded as f64)
        ),
        format!("{raw_left} left"),
        "–",
        format!("0 left; {} recorded", thousands(loaded.due as f64)),
        Some(left == 0 && recorded == loaded.due && swept as i64 >= loaded.due),
    );
    drop(app);

    // The report, through a server on the same database.
    eprintln!("rapport-bench: tickets: GetTicketReport over a year");
    let server = start().await?;
    let unpublished = drain_outbox(svc, Duration::from_secs(120)).await?;
    if unpublished > 0 {
        notes.push(format!(
            "The outbox still held {unpublished} rows of the sweep's events when the reports \
             were timed."
        ));
    }
    let (first, last) = (date_of(bulk.now - 365 * DAY), date_of(bulk.now));
    let (start_t, end_t) = (day_start(bulk.now - 365 * DAY), day_start(bulk.now) + DAY);
    let mut client = TicketAnalyticsServiceClient::with_interceptor(
        server.channel().await?,
        server.admin_of(BULK_TENANT)?,
    )
    .max_decoding_message_size(64 << 20);
    let req = pb::GetTicketReportRequest {
        start_date: Some(first),
        end_date: Some(last),
        time_zone: String::new(),
        period: pb::Period::Month.into(),
        team_id: String::new(),
    };
    let mut answer = client.get_ticket_report(req.clone()).await?.into_inner();
    let mut service = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        answer = client.get_ticket_report(req.clone()).await?.into_inner();
        service.push(t.elapsed());
    }
    let mut baseline = Vec::with_capacity(runs);
    let mut expected = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        expected = raw_report(svc, start_t, end_t).await?;
        baseline.push(t.elapsed());
    }
    let _ = server.stop(Duration::from_secs(30)).await;
    let (service, baseline) = (sorted_micros(service), sorted_micros(baseline));
    let (p50, p99) = (quantile_ms(&service, 0.5), quantile_ms(&service, 0.99));
    let (raw_p50, raw_p99) = (quantile_ms(&baseline, 0.5), quantile_ms(&baseline, 0.99));
    table.row(
        format!(
            "GetTicketReport over a year ({} tickets), {runs} calls over gRPC",
            thousands(answer.total as f64)
        ),
        format!("p50 {p50:.0} ms, p99 {p99:.0} ms"),
        format!("p50 {raw_p50:.0} ms, p99 {raw_p99:.0} ms (GROUP BY type, channel)"),
        format!("{:.1}× the raw p50", p50 / raw_p50.max(1e-9)),
        "< 500 ms (p99)",
        Some(p99 < REPORT_TARGET_MS),
    );
    table.row(
        "GetTicketReport: volumes agree with the GROUP BY",
        compare(&answer, &expected),
        "–",
        "–",
        "same total, by type and by channel",
        Some(agrees(&answer, &expected)),
    );
    notes.push(format!(
        "The report's aggregates over the year: SLA compliance {}; first response p50 {} s over \
         {} tickets; resolution p50 {} s over {}; reopen rate {:.1}%; {} complaint categories; \
         satisfaction of {} agents.",
        answer
            .sla_compliance
            .iter()
            .map(|c| format!(
                "{} met of {}",
                thousands(c.met as f64),
                thousands(c.total as f64)
            ))
            .collect::<Vec<_>>()
            .join(", "),
        answer.first_response.as_ref().map_or(0, |d| d.p50_seconds),
        thousands(answer.first_response.as_ref().map_or(0, |d| d.count) as f64),
        answer.resolution.as_ref().map_or(0, |d| d.p50_seconds),
        thousands(answer.resolution.as_ref().map_or(0, |d| d.count) as f64),
        answer.reopen_rate * 100.0,
        answer.top_complaint_categories.len(),
        answer.satisfaction_by_agent.len()
    ));
    Ok(())
}

/// The straightforward SQL of the sweep: every due ticket is declared breached, with one
/// history entry each, in one transaction (one INSERT … SELECT, one UPDATE); the rows updated
/// and the time.
async fn raw_sweep(db: &Db, now: Micros) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO ticket_events (tenant_id, ticket_id, id, kind, actor_id, detail, rule, \
         create_time) SELECT tenant_id, id, gen_random_uuid()::text, 'sla_breached', \
         'rapport-tickets/sweeps', 'NEXT_RESPONSE is BREACHED', '', $2 FROM tickets \
         WHERE tenant_id = $1 AND sla_check <= $2",
    )
    .bind(BULK_TENANT)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query(
        "UPDATE tickets SET sla_check = NULL, sla_breached = 1, sla_next_response = 2, \
         update_time = $2, version = version + 1 WHERE tenant_id = $1 AND sla_check <= $2",
    )
    .bind(BULK_TENANT)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((done.rows_affected(), started.elapsed()))
}

/// (type, channel, count) over the range.
type Volume = Vec<(String, String, i64)>;

/// The raw report: one GROUP BY over the range.
async fn raw_report(db: &Db, start: Micros, end: Micros) -> Result<Volume> {
    let rows = sqlx::query(
        "SELECT ticket_type, channel, COUNT(*) FROM tickets WHERE tenant_id = $1 \
         AND create_time >= $2 AND create_time < $3 GROUP BY ticket_type, channel",
    )
    .bind(BULK_TENANT)
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

fn sums(expected: &Volume, key: impl Fn(&(String, String, i64)) -> &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for row in expected {
        *out.entry(key(row).to_owned()).or_default() += row.2;
    }
    out
}

fn counts(list: &[pb::Count]) -> BTreeMap<String, i64> {
    list.iter().map(|c| (c.key.clone(), c.count)).collect()
}

/// Whether the report's volumes are the GROUP BY's: the total, by type, by channel.
fn agrees(answer: &pb::TicketReport, expected: &Volume) -> bool {
    let total: i64 = expected.iter().map(|r| r.2).sum();
    let channels = sums(expected, |r| r.1.as_str());
    let by_channel = counts(&answer.volume_by_channel);
    answer.total == total
        && counts(&answer.volume_by_type) == sums(expected, |r| r.0.as_str())
        && by_channel.len() == channels.len()
        && by_channel.values().sum::<i64>() == total
}

fn compare(answer: &pb::TicketReport, expected: &Volume) -> String {
    let total: i64 = expected.iter().map(|r| r.2).sum();
    format!(
        "total {} (raw {}), {} types, {} channels{}",
        thousands(answer.total as f64),
        thousands(total as f64),
        answer.volume_by_type.len(),
        answer.volume_by_channel.len(),
        if agrees(answer, expected) {
            ", the same counts"
        } else {
            ": counts DIFFER"
        }
    )
}

/// Midnight UTC of the day `t` falls in.
fn day_start(t: Micros) -> Micros {
    t.div_euclid(DAY) * DAY
}

/// The UTC date `t` falls in.
fn date_of(t: Micros) -> types::Date {
    // Days to a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let z = t.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    types::Date {
        year: year as i32,
        month: month as i32,
        day: day as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_instants() {
        // 2024-02-29T12:00:00Z and 1970-01-01.
        let d = date_of(1_709_208_000_000_000);
        assert_eq!((d.year, d.month, d.day), (2024, 2, 29));
        let d = date_of(0);
        assert_eq!((d.year, d.month, d.day), (1970, 1, 1));
    }

    #[test]
    fn copy_text_escapes_and_nulls() {
        let mut out = Vec::new();
        copy_row(
            &mut out,
            "t",
            &[
                Column::Text("a\\b\tc\nd".into()),
                Column::OptInt(None),
                Column::Int(-3),
            ],
        );
        assert_eq!(out, b"t\ta\\\\b\\tc\\nd\t\\N\t-3\n");
    }

    #[test]
    fn generated_tickets_are_due_as_planned() {
        let cal = Calendar::always();
        let targets = bulk_targets();
        let now = 1_767_225_600_000_000;
        let mut rng = SmallRng::seed_from_u64(1);
        for n in 0..2_000 {
            let open = n % 4 != 0;
            let due = open && n % 5 == 0;
            let t = generate(&mut rng, &cal, &targets, now, open, due);
            let check = t.sla_check();
            assert_eq!(t.state.is_active(), open, "{t:?}");
            if open {
                let c = check.expect("an open ticket's next check");
                assert_eq!(c <= now, due, "{t:?}");
                assert!(due || c > now + 2 * HOUR - MINUTE, "{t:?}");
            } else {
                assert_eq!(check, None);
                assert!(t.resolve_time.is_some() && !t.resolved_by.is_empty());
            }
        }
    }
}
