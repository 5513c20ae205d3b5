//! `rapport-bench segments`: StreamSegmentMembers over a segment of every customer (CU13),
//! each member checked for SMS as CheckContactPermission would, on a standalone server
//! (SQLite) and, when PostgreSQL is given, a distributed one (+ Redis when given); beside the
//! raw baseline, the same keyset pages of the same rows straight through sqlx with each
//! profile decoded; and CountSegmentMembers. The target is a campaign preparing 20,000
//! recipients a second.

use std::time::{Duration, Instant};

use rapport_customers::Customers;
use rapport_proto::customers::{self as pb, segment_service_client::SegmentServiceClient};
use rapport_runtime::storage::Db;
use sqlx::Row;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

use crate::{
    Result,
    customers::clients,
    data::Generator,
    report::thousands,
    service,
    stores::{self, Bearer, BenchServer, DB_CONNECTIONS, ScratchDatabase, TENANT},
};

/// Arguments of `rapport-bench segments`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Customers imported before the streams, every one a member.
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,
    /// Times each stream is read; the fastest is reported (the first also warms the caches).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub runs: u64,
    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

/// Rows per page of the raw baseline: the service's batch.
const PAGE: i64 = 1000;
/// Every customer matches: the segment is the whole tenant.
const EVERYONE: &str = "create_time >= 1970-01-01T00:00:00Z";

type Segments = SegmentServiceClient<InterceptedService<Channel, Bearer>>;

/// What one deployment measured.
struct Measured {
    deployment: String,
    members: u64,
    checked: Duration,
    unchecked: Duration,
    raw: Duration,
    count: Duration,
}

/// Runs the scenario and prints its table.
pub async fn run(args: Args) -> Result<()> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();

    eprintln!("rapport-bench: segments on SQLite");
    let server = BenchServer::start(tempfile::tempdir()?, None, None).await?;
    let url = format!(
        "sqlite://{}",
        server.data_dir().join("customers.db").display()
    );
    rows.push(measure("standalone: SQLite", &server, &url, &args).await?);
    server.stop(Duration::from_secs(30)).await;

    match args.stores.postgres() {
        None => skipped.push(
            "PostgreSQL: not configured (--postgres-url, RAPPORT_BENCH_POSTGRES_URL or \
             RAPPORT_TEST_POSTGRES_URL)"
                .to_owned(),
        ),
        Some(admin) => {
            eprintln!("rapport-bench: segments on PostgreSQL");
            let db = ScratchDatabase::create(&admin, "bench_segments").await?;
            let redis = args.stores.redis().map(|url| (url, stores::run_prefix()));
            let deployment = match &redis {
                Some(_) => "distributed: PostgreSQL + Redis",
                None => "distributed: PostgreSQL",
            };
            let outcome = async {
                let server =
                    BenchServer::start(tempfile::tempdir()?, Some(db.url.clone()), redis.clone())
                        .await?;
                let measured = measure(deployment, &server, &db.url, &args).await;
                server.stop(Duration::from_secs(30)).await;
                measured
            }
            .await;
            if let Some((url, prefix)) = &redis
                && let Err(e) = stores::clear_redis_prefix(url, prefix).await
            {
                eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
            }
            db.drop_now().await;
            rows.push(outcome?);
        }
    }
    println!("{}", table(&rows, &skipped));
    Ok(())
}

/// Imports the customers into `server` (its database at `url`), then times the streams, the
/// raw pages and the count.
async fn measure(
    deployment: &str,
    server: &BenchServer,
    url: &str,
    args: &Args,
) -> Result<Measured> {
    eprintln!("rapport-bench: importing {} customers", args.customers);
    let importers = clients(server, 4, 1).await?;
    let imported = service::import(importers, &Generator::new(), args.customers, 1000).await;
    if let Some(e) = imported.first_error {
        return Err(format!("the import failed: {e}").into());
    }
    let members = imported.created;

    let mut segments: Segments =
        SegmentServiceClient::with_interceptor(server.channel().await?, server.admin()?)
            .max_decoding_message_size(64 << 20);
    let everyone = segments
        .create_segment(pb::CreateSegmentRequest {
            segment: Some(pb::Segment {
                display_name: "Everyone".into(),
                filter: EVERYONE.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?
        .into_inner()
        .name;

    let raw_db = stores::open_migrated::<Customers>(url, DB_CONNECTIONS).await?;
    let mut best = Measured {
        deployment: deployment.to_owned(),
        members,
        checked: Duration::MAX,
        unchecked: Duration::MAX,
        raw: Duration::MAX,
        count: Duration::MAX,
    };
    for run in 1..=args.runs {
        eprintln!("rapport-bench: run {run} of {}", args.runs);
        let sms = pb::StreamSegmentMembersRequest {
            name: everyone.clone(),
            channel: pb::Channel::Sms.into(),
            ..Default::default()
        };
        best.checked = best.checked.min(stream(&mut segments, sms, members).await?);
        let plain = pb::StreamSegmentMembersRequest {
            name: everyone.clone(),
            ..Default::default()
        };
        best.unchecked = best
            .unchecked
            .min(stream(&mut segments, plain, members).await?);
        best.raw = best.raw.min(raw_pages(&raw_db, members).await?);
        let started = Instant::now();
        let counted = segments
            .count_segment_members(pb::CountSegmentMembersRequest {
                name: everyone.clone(),
                filter: String::new(),
            })
            .await?
            .into_inner()
            .count;
        best.count = best.count.min(started.elapsed());
        if counted as u64 != members {
            return Err(format!("counted {counted} members of {members}").into());
        }
    }
    raw_db.close().await;
    Ok(best)
}

/// How long `req` takes to stream to its end, checking it brings `want` members in id order.
async fn stream(
    segments: &mut Segments,
    req: pb::StreamSegmentMembersRequest,
    want: u64,
) -> Result<Duration> {
    let started = Instant::now();
    let mut stream = segments.stream_segment_members(req).await?.into_inner();
    let (mut seen, mut last) = (0u64, String::new());
    while let Some(batch) = stream.message().await? {
        for m in &batch.members {
            if m.customer <= last {
                return Err(format!("{} came after {last}", m.customer).into());
            }
            last.clone_from(&m.customer);
        }
        seen += batch.members.len() as u64;
    }
    let took = started.elapsed();
    if seen != want {
        return Err(format!("streamed {seen} members of {want}").into());
    }
    Ok(took)
}

/// How long the same walk takes straight through sqlx: keyset pages of the tenant's live
/// customers in id order, each profile decoded.
async fn raw_pages(db: &Db, want: u64) -> Result<Duration> {
    let started = Instant::now();
    let mut conn = db.pool().acquire().await?;
    let (mut seen, mut after) = (0u64, String::new());
    loop {
        let rows = sqlx::query(
            "SELECT c.id, c.profile FROM customers c WHERE c.tenant_id = $1 \
             AND c.delete_time IS NULL AND c.id > $2 ORDER BY c.id LIMIT $3",
        )
        .bind(TENANT)
        .bind(after.as_str())
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let profile: String = row.try_get(1)?;
            serde_json::from_str::<serde_json::Value>(&profile)?;
        }
        seen += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => after = last.try_get(0)?,
            _ => break,
        }
    }
    let took = started.elapsed();
    if seen != want {
        return Err(format!("read {seen} rows of {want}").into());
    }
    Ok(took)
}

fn per_sec(n: u64, d: Duration) -> String {
    thousands(n as f64 / d.as_secs_f64().max(1e-9))
}

fn table(rows: &[Measured], skipped: &[String]) -> String {
    let mut out = String::from(
        "StreamSegmentMembers of a segment of every customer, batches of 1,000, in id order \
         (target: 20,000 members/s)\n\n\
         | Deployment | Members | Stream, SMS checked | Stream, no check | Raw keyset pages | \
         Checked ÷ raw | CountSegmentMembers |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {}/s ({:.2} s) | {}/s ({:.2} s) | {}/s ({:.2} s) | {:.2} | {:.0} ms |\n",
            r.deployment,
            thousands(r.members as f64),
            per_sec(r.members, r.checked),
            r.checked.as_secs_f64(),
            per_sec(r.members, r.unchecked),
            r.unchecked.as_secs_f64(),
            per_sec(r.members, r.raw),
            r.raw.as_secs_f64(),
            r.raw.as_secs_f64() / r.checked.as_secs_f64().max(1e-9),
            r.count.as_secs_f64() * 1000.0,
        ));
    }
    for s in skipped {
        out.push_str(&format!("\nSkipped: {s}\n"));
    }
    out
}
