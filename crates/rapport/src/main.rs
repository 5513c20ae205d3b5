//! `rapport`: serve the suite (standalone or one service per process), migrate, issue tokens,
//! check health, import and export.

mod commands;
mod services;

use clap::{Parser, Subcommand};

/// A request allocates and frees many small buffers across worker threads, where glibc's
/// allocator spends a tenth of the server's CPU; mimalloc's thread-local pages do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rapport: the CRM backend as gRPC services.
#[derive(Debug, Parser)]
#[command(name = "rapport", version, about, long_about = None)]
struct Cli {
    /// Log format.
    #[arg(
        long,
        env = "RAPPORT_LOG_FORMAT",
        default_value = "json",
        global = true
    )]
    log_format: rapport_runtime::telemetry::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves services: all of them in one process (standalone), or the ones named.
    // Boxed: the server's flags outweigh every other command's.
    Serve(Box<commands::serve::Args>),
    /// Applies database migrations of the services named (all when none).
    Migrate(commands::migrate::Args),
    /// Issues access tokens.
    #[command(subcommand)]
    Token(commands::token::Command),
    /// Checks a server's gRPC health; exits 0 when serving.
    Health(commands::health::Args),
    /// Imports data from files.
    #[command(subcommand)]
    Import(commands::import::Command),
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
            Command::Serve(args) => commands::serve::run(*args, cli.log_format).await,
            Command::Migrate(args) => commands::migrate::run(args, cli.log_format).await,
            Command::Token(cmd) => commands::token::run(cmd),
            Command::Health(args) => commands::health::run(args).await,
            Command::Import(cmd) => commands::import::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rapport: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
