//! `rapport-bench gateway`: GetCustomer over the HTTP/JSON gateway beside the same call over
//! gRPC, on one standalone customers server (SQLite), in the same run. The ratio is the price
//! of JSON and HTTP/1.1 over protobuf and HTTP/2 for the same work behind them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use http::StatusCode;
use rapport_runtime::auth::Role;
use rapport_testkit::http::JsonClient;

use crate::{
    Result,
    customers::{clients, creators, take},
    data::Generator,
    load::{self, Op, Outcome},
    pool::IdPool,
    report::thousands,
    service::Get,
    stores::{BenchServer, TENANT},
};

/// Arguments of `rapport-bench gateway`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Customers created before the reads.
    #[arg(long, default_value_t = 2000)]
    pub customers: usize,
    /// Concurrent callers of each protocol (one HTTP/1.1 connection each; gRPC shares an
    /// HTTP/2 connection between four).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds of warm-up before each measured window.
    #[arg(long, default_value_t = 3)]
    pub warmup_secs: u64,
    /// Seconds each protocol is measured.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
}

/// One worker reading resources by name over HTTP/JSON (`GET /v1/{name}`), checking the
/// answer is the one asked for.
pub struct HttpGet {
    client: JsonClient,
    pool: IdPool,
}

impl HttpGet {
    async fn get(&mut self) -> std::result::Result<(), String> {
        let name = self.pool.next_id().to_owned();
        let reply = self
            .client
            .get(&format!("/v1/{name}"))
            .await
            .map_err(|e| e.to_string())?;
        if reply.status != StatusCode::OK {
            return Err(format!("{}: {}", reply.status, reply.body));
        }
        if reply.body["name"] != name.as_str() {
            return Err(format!("asked for {name}, got {}", reply.body["name"]));
        }
        Ok(())
    }
}

impl Op for HttpGet {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.get()
    }
}

/// `concurrency` readers of the names in `pool` over `server`'s HTTP/JSON gateway, one
/// HTTP/1.1 connection each, as an admin of the benchmark tenant.
pub async fn http_readers(
    server: &BenchServer,
    concurrency: usize,
    pool: &IdPool,
) -> Result<Vec<HttpGet>> {
    let http = server.http_addr.ok_or("the server serves no HTTP port")?;
    let token = server.token_of(TENANT, "bench-admin", &[Role::Admin], None)?;
    let mut ops = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        ops.push(HttpGet {
            client: JsonClient::connect(http, Some(&token)).await?,
            pool: pool.worker(200 + i as u64),
        });
    }
    Ok(ops)
}

/// Runs the scenario and prints its table.
pub async fn run(args: Args) -> Result<()> {
    let warmup = Duration::from_secs(args.warmup_secs);
    let window = Duration::from_secs(args.duration_secs);
    let server = BenchServer::start(tempfile::tempdir()?, None, None).await?;
    let grpc = clients(&server, args.concurrency, 4).await?;

    eprintln!("creating {} customers", args.customers);
    let names = Arc::new(Mutex::new(Vec::new()));
    let mut seeding = Vec::new();
    for mut op in creators(&grpc, &Generator::new(), 500, &names) {
        let each = args.customers.div_ceil(args.concurrency.max(1));
        seeding.push(tokio::spawn(async move {
            for _ in 0..each {
                op.call().await?;
            }
            Ok::<(), String>(())
        }));
    }
    for task in seeding {
        task.await??;
    }
    let pool = IdPool::new(take(&names));

    eprintln!("GetCustomer over gRPC");
    let ops = grpc
        .iter()
        .enumerate()
        .map(|(i, client)| Get::new(client.clone(), pool.worker(100 + i as u64)))
        .collect();
    let over_grpc = load::run(ops, warmup, window, async {}).await;

    eprintln!("GetCustomer over HTTP/JSON");
    let ops = http_readers(&server, args.concurrency, &pool).await?;
    let over_http = load::run(ops, warmup, window, async {}).await;

    println!("{}", table(&args, &over_grpc, &over_http));
    drop(grpc);
    server.stop(Duration::from_secs(10)).await;
    Ok(())
}

fn table(args: &Args, grpc: &Outcome, http: &Outcome) -> String {
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}", a / b)
        } else {
            "–".to_owned()
        }
    };
    format!(
        "GetCustomer, {} customers, {} concurrent callers, {} s each, SQLite\n\n\
         | Call | Throughput | p50 | p99 | Errors |\n\
         |---|---|---|---|---|\n\
         | gRPC | {}/s | {:.2} ms | {:.2} ms | {} |\n\
         | HTTP/JSON | {}/s | {:.2} ms | {:.2} ms | {} |\n\
         | HTTP/JSON ÷ gRPC | {} | {} | {} | |\n",
        args.customers,
        args.concurrency,
        args.duration_secs,
        thousands(grpc.throughput()),
        grpc.quantile_ms(0.5),
        grpc.quantile_ms(0.99),
        errors(grpc),
        thousands(http.throughput()),
        http.quantile_ms(0.5),
        http.quantile_ms(0.99),
        errors(http),
        ratio(http.throughput(), grpc.throughput()),
        ratio(http.quantile_ms(0.5), grpc.quantile_ms(0.5)),
        ratio(http.quantile_ms(0.99), grpc.quantile_ms(0.99)),
    )
}

/// The errors of a run, with the first.
fn errors(o: &Outcome) -> String {
    match &o.first_error {
        Some(first) => format!("{} (first: {first})", o.errors),
        None => o.errors.to_string(),
    }
}
