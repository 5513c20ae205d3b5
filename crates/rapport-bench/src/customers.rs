//! `rapport-bench customers`: CreateCustomer and GetCustomer on both deployments beside their
//! raw-SQL baselines, ImportCustomers on PostgreSQL, and the idle memory of `rapport serve`.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::Connection;

use crate::{
    Result,
    data::Generator,
    load::{self, Outcome},
    memory::{self, Idle},
    pool::IdPool,
    raw::{self, RawInsert, RawSelect},
    report::{Report, Targets},
    service::{self, Create, Get, Imported},
    stores::{self, BenchServer, Client, ScratchDatabase},
};

/// Arguments of `rapport-bench customers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds each load scenario is measured, after a short warm-up [default: 10; 2 with
    /// --quick].
    #[arg(long)]
    pub duration_secs: Option<u64>,

    /// Requests in flight at once (closed loop: each worker sends its next request when the
    /// previous one answers).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,

    /// Customers to import through ImportCustomers on PostgreSQL [default: 1000000; 20000
    /// with --quick].
    #[arg(long)]
    pub import_rows: Option<u64>,

    /// Rows per ImportCustomers message (each is one transaction on the server).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub import_batch: u64,

    /// Concurrent ImportCustomers streams.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub import_streams: u64,

    /// Workers sharing one HTTP/2 connection to the server.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub workers_per_connection: u64,

    /// A short smoke run: 2 s per scenario and 20,000 imported rows.
    #[arg(long)]
    pub quick: bool,

    /// Where the run's databases and Redis keys go.
    #[command(flatten)]
    pub stores: stores::StoreArgs,
}

/// What one run is set to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Measured window of each load scenario.
    pub window: Duration,
    /// Unmeasured warm-up before it.
    pub warmup: Duration,
    /// Workers.
    pub concurrency: usize,
    /// Rows to import.
    pub import_rows: u64,
    /// Rows per import message.
    pub import_batch: u64,
    /// Import streams.
    pub import_streams: u64,
    /// Workers per HTTP/2 connection.
    pub workers_per_connection: usize,
    /// PostgreSQL admin URL.
    pub postgres: Option<String>,
    /// Redis URL.
    pub redis: Option<String>,
}

impl Plan {
    fn of(args: Args) -> Plan {
        let window = Duration::from_secs(
            args.duration_secs
                .unwrap_or(if args.quick { 2 } else { 10 })
                .max(1),
        );
        Plan {
            window,
            warmup: (window / 5).clamp(Duration::from_millis(500), Duration::from_secs(2)),
            concurrency: args.concurrency.max(1),
            import_rows: args
                .import_rows
                .unwrap_or(if args.quick { 20_000 } else { 1_000_000 }),
            import_batch: args.import_batch,
            import_streams: args.import_streams,
            workers_per_connection: args.workers_per_connection as usize,
            postgres: args.stores.postgres(),
            redis: args.stores.redis(),
        }
    }
}

/// What was measured; `Err` holds why a row was skipped or failed.
#[derive(Debug)]
pub struct Results {
    /// The plan.
    pub plan: Plan,
    /// The distributed deployment's label.
    pub distributed: String,
    /// CreateCustomer, standalone.
    pub create_sqlite: std::result::Result<Outcome, String>,
    /// Raw INSERT on SQLite.
    pub insert_sqlite: std::result::Result<Outcome, String>,
    /// GetCustomer, standalone.
    pub get_sqlite: std::result::Result<Outcome, String>,
    /// Raw SELECT on SQLite.
    pub select_sqlite: std::result::Result<Outcome, String>,
    /// CreateCustomer, distributed.
    pub create_pg: std::result::Result<Outcome, String>,
    /// CreateCustomer, distributed, on a database just migrated and never analyzed by the bench.
    pub create_fresh_pg: std::result::Result<Outcome, String>,
    /// Raw INSERT on PostgreSQL.
    pub insert_pg: std::result::Result<Outcome, String>,
    /// GetCustomer, distributed.
    pub get_pg: std::result::Result<Outcome, String>,
    /// Raw SELECT on PostgreSQL.
    pub select_pg: std::result::Result<Outcome, String>,
    /// ImportCustomers, distributed.
    pub import: std::result::Result<Imported, String>,
    /// Idle `rapport serve`.
    pub idle: std::result::Result<Idle, String>,
    /// Lines worth reading beside the numbers.
    pub notes: Vec<String>,
    /// What was skipped and why.
    pub skipped: Vec<String>,
}

/// Runs the benchmark and prints its report; Ctrl-C stops it and still cleans up.
pub async fn run(args: Args) -> Result<()> {
    let plan = Plan::of(args);
    let cleanup = Cleanup::default();
    let outcome = tokio::select! {
        r = measure(plan, &cleanup) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    cleanup.run().await;
    match outcome {
        None => Err("interrupted".into()),
        Some(results) => {
            let results = results?;
            let report = Report::new(&results);
            println!("{}", report.render(&Targets::default()));
            Ok(())
        }
    }
}

/// Databases and Redis prefixes to remove at the end, however the run ends.
#[derive(Default)]
struct Cleanup {
    // (admin URL, name) of each database.
    databases: Mutex<Vec<(String, String)>>,
    redis: Mutex<Vec<(String, String)>>,
}

impl Cleanup {
    fn database(&self, db: &ScratchDatabase) {
        if let Ok(mut dbs) = self.databases.lock() {
            dbs.push((db.admin_url().to_owned(), db.name().to_owned()));
        }
    }

    fn redis_prefix(&self, url: &str, prefix: &str) {
        if let Ok(mut r) = self.redis.lock() {
            r.push((url.to_owned(), prefix.to_owned()));
        }
    }

    async fn run(&self) {
        let dbs = self
            .databases
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        for (admin, name) in dbs {
            stores::drop_database(&admin, &name).await;
        }
        let prefixes = self
            .redis
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for (url, prefix) in prefixes {
            if let Err(e) = stores::clear_redis_prefix(&url, &prefix).await {
                eprintln!("warning: could not delete Redis keys {prefix}*: {e}");
            }
        }
    }
}

fn progress(what: &str) {
    eprintln!("rapport-bench: {what}");
}

async fn measure(plan: Plan, cleanup: &Cleanup) -> Result<Results> {
    let generator = Generator::new();
    let no_pg = "PostgreSQL not configured (--postgres-url, RAPPORT_BENCH_POSTGRES_URL or RAPPORT_TEST_POSTGRES_URL)";
    let mut r = Results {
        distributed: match &plan.redis {
            Some(_) => "distributed: PostgreSQL + Redis".to_owned(),
            None => "distributed: PostgreSQL, in-process cache + bus (no Redis)".to_owned(),
        },
        create_sqlite: Err("not run".into()),
        insert_sqlite: Err("not run".into()),
        get_sqlite: Err("not run".into()),
        select_sqlite: Err("not run".into()),
        create_pg: Err(no_pg.into()),
        create_fresh_pg: Err(no_pg.into()),
        insert_pg: Err(no_pg.into()),
        get_pg: Err(no_pg.into()),
        select_pg: Err(no_pg.into()),
        import: Err(no_pg.into()),
        idle: Err("not run".into()),
        notes: Vec::new(),
        skipped: Vec::new(),
        plan: plan.clone(),
    };

    progress("idle memory of rapport serve");
    r.idle = match memory::idle_serve().await {
        Ok(idle) => Ok(idle),
        Err(memory::Skip::NoBinary(path)) => Err(format!(
            "no rapport binary at {}; build it with `cargo build --release -p rapport`",
            path.display()
        )),
        Err(memory::Skip::Failed(e)) => Err(format!("failed: {e}")),
    };

    // Standalone: raw SQLite beside the in-process server on SQLite.
    let dir = tempfile::tempdir()?;
    let raw_file = dir.path().join("raw-customers.db");
    let raw_url = format!("sqlite://{}?mode=rwc", raw_file.display());
    run_pair(
        &plan,
        &generator,
        "SQLite",
        async { raw::open(&raw_url).await },
        async { BenchServer::start(tempfile::tempdir()?, None, None).await },
        (&mut r.insert_sqlite, &mut r.select_sqlite),
        (&mut r.create_sqlite, &mut r.get_sqlite),
        None,
        &mut r.notes,
    )
    .await;

    // Distributed: raw PostgreSQL beside the in-process server on PostgreSQL (+ Redis).
    match &plan.postgres {
        None => r.skipped.push(format!(
            "every PostgreSQL row (raw INSERT and SELECT, distributed CreateCustomer and \
             GetCustomer, ImportCustomers): {no_pg}"
        )),
        Some(admin) => {
            let redis = match &plan.redis {
                None => {
                    r.skipped.push(
                        "Redis: not configured (--redis-url, RAPPORT_BENCH_REDIS_URL or \
                         RAPPORT_TEST_REDIS_URL); the distributed rows ran with the in-process \
                         cache and bus"
                            .into(),
                    );
                    None
                }
                Some(url) => match stores::redis_reachable(url).await {
                    Ok(()) => {
                        let tag = uuid::Uuid::now_v7().simple().to_string();
                        let prefix = format!("rapport-bench:{}:", &tag[tag.len() - 12..]);
                        cleanup.redis_prefix(url, &prefix);
                        Some((url.clone(), prefix))
                    }
                    Err(e) => {
                        let e = format!("Redis at the configured URL does not answer: {e}");
                        for slot in [&mut r.create_pg, &mut r.get_pg] {
                            *slot = Err(e.clone());
                        }
                        r.import = Err(e);
                        None
                    }
                },
            };
            let run_service = plan.redis.is_none() || redis.is_some();
            if run_service {
                progress("CreateCustomer on a fresh PostgreSQL database");
                r.create_fresh_pg =
                    fresh_create(&plan, &generator, admin, redis.as_ref(), cleanup).await;
            }
            let raw_db = ScratchDatabase::create(admin, "bench_raw").await;
            let server_db = ScratchDatabase::create(admin, "bench_svc").await;
            for db in [&raw_db, &server_db].into_iter().flatten() {
                cleanup.database(db);
            }
            match (raw_db, server_db) {
                (Ok(raw_db), Ok(server_db)) => {
                    let server_url = server_db.url.clone();
                    let import = run_pair(
                        &plan,
                        &generator,
                        "PostgreSQL",
                        async { raw::open(&raw_db.url).await },
                        async {
                            if !run_service {
                                return Err("Redis does not answer".into());
                            }
                            BenchServer::start(
                                tempfile::tempdir()?,
                                Some(server_url.clone()),
                                redis,
                            )
                            .await
                        },
                        (&mut r.insert_pg, &mut r.select_pg),
                        (&mut r.create_pg, &mut r.get_pg),
                        Some(&server_url),
                        &mut r.notes,
                    )
                    .await;
                    if let Some(import) = import {
                        r.import = import;
                    }
                }
                (raw_db, server_db) => {
                    let e = raw_db
                        .err()
                        .or(server_db.err())
                        .map(|e| format!("failed: cannot create a database: {e}"))
                        .unwrap_or_default();
                    for slot in [
                        &mut r.create_pg,
                        &mut r.insert_pg,
                        &mut r.get_pg,
                        &mut r.select_pg,
                    ] {
                        *slot = Err(e.clone());
                    }
                    r.import = Err(e);
                }
            }
        }
    }
    Ok(r)
}

/// Runs raw INSERT, raw SELECT, CreateCustomer and GetCustomer on one backend, then, when
/// `service_pg` names the server's PostgreSQL database, the import. Returns the import's result
/// if it ran.
///
/// PostgreSQL databases are analyzed between warm-up and measurement, as autovacuum keeps a
/// database in use analyzed: plans cached while the fresh tables were empty are not what a
/// running deployment executes.
#[allow(clippy::too_many_arguments)]
async fn run_pair(
    plan: &Plan,
    generator: &Generator,
    backend: &str,
    raw_db: impl Future<Output = Result<rapport_runtime::storage::Db>>,
    server: impl Future<Output = Result<BenchServer>>,
    (insert, select): (
        &mut std::result::Result<Outcome, String>,
        &mut std::result::Result<Outcome, String>,
    ),
    (create, get): (
        &mut std::result::Result<Outcome, String>,
        &mut std::result::Result<Outcome, String>,
    ),
    service_pg: Option<&str>,
    notes: &mut Vec<String>,
) -> Option<std::result::Result<Imported, String>> {
    let c = plan.concurrency;
    let failed = |e: &dyn std::fmt::Display| format!("failed: {e}");

    // Raw INSERT, then raw SELECT on what it inserted.
    let raw_ids = Arc::new(Mutex::new(Vec::new()));
    match raw_db.await {
        Err(e) => {
            *insert = Err(failed(&e));
            *select = Err(failed(&e));
        }
        Ok(db) => {
            progress(&format!("raw INSERT on {backend}"));
            let ops = (0..c)
                .map(|i| RawInsert::new(db.clone(), generator.maker(i as u64), raw_ids.clone()))
                .collect();
            *insert = Ok(load::run(ops, plan.warmup, plan.window, analyze(&db)).await);
            let ids = take(&raw_ids);
            if ids.is_empty() {
                *select = Err("no rows to read: the raw INSERT stored none".into());
            } else {
                progress(&format!("raw SELECT on {backend}"));
                let pool = IdPool::new(ids);
                let ops = (0..c)
                    .map(|i| RawSelect::new(db.clone(), pool.worker(i as u64)))
                    .collect();
                *select = Ok(load::run(ops, plan.warmup, plan.window, analyze(&db)).await);
            }
            db.close().await;
        }
    }

    // The same through the service.
    let server = match server.await {
        Ok(s) => s,
        Err(e) => {
            *create = Err(failed(&e));
            *get = Err(failed(&e));
            return service_pg.map(|_| Err(failed(&e)));
        }
    };
    let clients = match clients(&server, c, plan.workers_per_connection).await {
        Ok(clients) => clients,
        Err(e) => {
            *create = Err(failed(&e));
            *get = Err(failed(&e));
            server.stop(Duration::from_secs(10)).await;
            return service_pg.map(|_| Err(failed(&e)));
        }
    };
    progress(&format!("CreateCustomer on {backend}"));
    let names = Arc::new(Mutex::new(Vec::new()));
    let ops = creators(&clients, generator, 100, &names);
    *create = Ok(load::run(ops, plan.warmup, plan.window, analyze_url(service_pg)).await);
    let names = take(&names);
    if names.is_empty() {
        *get = Err("no customers to read: CreateCustomer created none".into());
    } else {
        progress(&format!("GetCustomer on {backend}"));
        let pool = IdPool::new(names);
        let ops = clients
            .iter()
            .enumerate()
            .map(|(i, client)| Get::new(client.clone(), pool.worker(200 + i as u64)))
            .collect();
        let outcome = load::run(ops, plan.warmup, plan.window, analyze_url(service_pg)).await;
        let (first, all) = pool.first_reads();
        notes.push(format!(
            "GetCustomer on {backend}: {} ids, 80% of reads on the hottest 20%; {:.1}% of the {} \
             reads (warm-up included) were an id's first read, i.e. a cache miss",
            pool.len(),
            100.0 * first as f64 / all.max(1) as f64,
            all
        ));
        *get = Ok(outcome);
    }

    let mut imported = None;
    if let Some(url) = service_pg {
        progress(&format!(
            "ImportCustomers of {} rows on {backend} ({} streams x {} rows per message)",
            plan.import_rows, plan.import_streams, plan.import_batch
        ));
        let mut import_clients = Vec::new();
        for _ in 0..plan.import_streams {
            match server.channel().await.and_then(|ch| server.client(ch)) {
                Ok(client) => import_clients.push(client),
                Err(e) => {
                    imported = Some(Err(failed(&e)));
                    break;
                }
            }
        }
        if imported.is_none() {
            let out = service::import(
                import_clients,
                generator,
                plan.import_rows,
                plan.import_batch,
            )
            .await;
            if let Ok(backlog) = outbox_backlog(url).await {
                notes.push(format!(
                    "ImportCustomers: {backlog} of the import's customer.created events were \
                     still waiting in the outbox for the relay when the last batch committed \
                     (they are published after the commit, off the request path)"
                ));
            }
            imported = Some(Ok(out));
        }
    }
    drop(clients);
    if !server.stop(Duration::from_secs(15)).await {
        notes.push(format!(
            "the {backend} server was still draining its outbox after 15 s and was left to stop \
             with the process"
        ));
    }
    imported
}

/// CreateCustomer through a server on a database just created and migrated, measured as a
/// deployment sees its first minutes: nothing analyzes it but the service itself (the other
/// rows analyze after their warm-up, as autovacuum keeps a database in use analyzed).
async fn fresh_create(
    plan: &Plan,
    generator: &Generator,
    admin: &str,
    redis: Option<&(String, String)>,
    cleanup: &Cleanup,
) -> std::result::Result<Outcome, String> {
    let failed = |e: &dyn std::fmt::Display| format!("failed: {e}");
    let db = ScratchDatabase::create(admin, "bench_fresh")
        .await
        .map_err(|e| failed(&e))?;
    cleanup.database(&db);
    // A prefix of its own: the other server's streams must not see these events.
    let redis = redis.map(|(url, prefix)| (url.clone(), format!("{prefix}fresh:")));
    let server = BenchServer::start(
        tempfile::tempdir().map_err(|e| failed(&e))?,
        Some(db.url.clone()),
        redis,
    )
    .await
    .map_err(|e| failed(&e))?;
    let clients = match clients(&server, plan.concurrency, plan.workers_per_connection).await {
        Ok(c) => c,
        Err(e) => {
            server.stop(Duration::from_secs(10)).await;
            return Err(failed(&e));
        }
    };
    let names = Arc::new(Mutex::new(Vec::new()));
    let ops = creators(&clients, generator, 300, &names);
    let outcome = load::run(ops, plan.warmup, plan.window, async {}).await;
    drop(clients);
    server.stop(Duration::from_secs(15)).await;
    Ok(outcome)
}

/// A CreateCustomer worker per client, each making customers from its own seed (`seed` + its
/// index), keeping the names it got back in `names`.
pub fn creators(
    clients: &[Client],
    generator: &Generator,
    seed: u64,
    names: &Arc<Mutex<Vec<String>>>,
) -> Vec<Create> {
    clients
        .iter()
        .enumerate()
        .map(|(i, client)| {
            Create::new(
                client.clone(),
                generator.maker(seed + i as u64),
                names.clone(),
            )
        })
        .collect()
}

/// Updates the planner statistics of `db` when it is PostgreSQL.
async fn analyze(db: &rapport_runtime::storage::Db) {
    if db.dialect() == rapport_runtime::dialect::Dialect::Postgres
        && let Err(e) = sqlx::query("ANALYZE").execute(db.pool()).await
    {
        eprintln!("warning: ANALYZE failed: {e}");
    }
}

/// Updates the planner statistics of the PostgreSQL database at `url`, if any.
async fn analyze_url(url: Option<&str>) {
    let Some(url) = url else { return };
    let done = async {
        let mut conn = sqlx::AnyConnection::connect(url).await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
        conn.close().await
    };
    if let Err(e) = done.await {
        eprintln!("warning: ANALYZE failed: {e}");
    }
}

/// `concurrency` clients, one HTTP/2 connection per few of them.
pub async fn clients(
    server: &BenchServer,
    concurrency: usize,
    per_connection: usize,
) -> Result<Vec<Client>> {
    let mut out = Vec::with_capacity(concurrency);
    let mut channel = None;
    for i in 0..concurrency {
        if i % per_connection == 0 {
            channel = Some(server.channel().await?);
        }
        let ch = channel.clone().ok_or("no channel")?;
        out.push(server.client(ch)?);
    }
    Ok(out)
}

pub fn take(v: &Mutex<Vec<String>>) -> Vec<String> {
    v.lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// Events in the server database's outbox not yet handed to the bus.
async fn outbox_backlog(url: &str) -> Result<i64> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(coalesce(sum(CASE WHEN events = 0 THEN 1 ELSE events END), 0) AS BIGINT) \
         FROM customers.outbox",
    )
    .fetch_one(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(n)
}
