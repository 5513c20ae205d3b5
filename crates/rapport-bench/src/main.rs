//! `rapport-bench`: measures Rapport's services through their real gRPC servers, each scenario
//! beside its raw baseline (the same SQL straight on the same database) in the same run, and
//! prints a markdown report. Targets are reported, never asserted: it exits 0 when they are
//! missed and non-zero only when it cannot run at all.

mod customers;
mod data;
mod gateway;
mod leads;
mod leads_funnel;
mod load;
mod memory;
mod orders;
mod orders_analytics;
mod partners;
mod partners_data;
mod pool;
mod raw;
mod report;
mod segments;
mod service;
mod stores;
mod tickets;
mod tickets_data;

use clap::{Parser, Subcommand};

/// The servers under test run in this process, so it allocates as `rapport` does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Errors that end a run.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Benchmarks of Rapport's services against raw baselines.
#[derive(Debug, Parser)]
#[command(name = "rapport-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The customers service: Create and Get on SQLite and PostgreSQL (+ Redis) beside raw
    /// INSERT and SELECT, ImportCustomers on PostgreSQL, idle memory of `rapport serve`.
    Customers(customers::Args),
    /// The leads service on PostgreSQL + Redis: AssignLead under concurrency, the reclaim sweep
    /// over a million leads and funnel analytics, each beside its raw SQL baseline.
    Leads(leads::Args),
    /// The orders service on PostgreSQL + Redis: CreateOrder with five lines and GetOrder, each
    /// beside its raw SQL baseline, and the idle memory of `rapport serve`.
    Orders(orders::Args),
    /// The orders service on PostgreSQL: each analytics report over a million orders beside
    /// the straightforward SQL over the orders and their lines.
    OrdersAnalytics(orders_analytics::Args),
    /// The tickets service on PostgreSQL + Redis: CreateTicket with routing and the SLA, the
    /// SLA sweep over a million open tickets and the ticket report, each beside its raw SQL
    /// baseline.
    Tickets(tickets::Args),
    /// The partners service: webhook fan-out to endpoints on 127.0.0.1 on SQLite and on
    /// PostgreSQL + Redis beside signed POSTs sent straight, commission accrual from order
    /// events beside its raw SQL, and GetPartner over HTTP/JSON beside gRPC.
    Partners(partners::Args),
    /// The HTTP/JSON gateway: GetCustomer over HTTP/JSON beside the same call over gRPC, on one
    /// standalone server (SQLite), in the same run.
    Gateway(gateway::Args),
    /// Segments (CU13): StreamSegmentMembers over a segment of every customer on SQLite and
    /// PostgreSQL (+ Redis), beside the same keyset pages straight through sqlx, and
    /// CountSegmentMembers.
    Segments(segments::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Customers(args) => customers::run(args).await,
            Command::Leads(args) => leads::run(args).await,
            Command::Orders(args) => orders::run(args).await,
            Command::OrdersAnalytics(args) => orders_analytics::run(args).await,
            Command::Tickets(args) => tickets::run(args).await,
            Command::Partners(args) => partners::run(args).await,
            Command::Gateway(args) => gateway::run(args).await,
            Command::Segments(args) => segments::run(args).await,
        }
    });
    // Server tasks still draining in the background end with the process.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rapport-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
