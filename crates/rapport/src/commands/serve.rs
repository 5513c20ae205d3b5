//! `rapport serve [SERVICE…]`: every service in one process on embedded SQLite (the default),
//! or the named ones against PostgreSQL and Redis.

use std::{sync::Arc, time::Duration};

use rapport_runtime::{
    auth::Role,
    clock::ShiftedClock,
    config::ServerArgs,
    context::ServiceEntry,
    server::shutdown_signal,
    suite,
    telemetry::{self, LogFormat},
};

use super::Outcome;
use crate::services;

/// Arguments of `rapport serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Services to run (customers, …); all when none is named.
    pub services: Vec<String>,

    #[command(flatten)]
    pub server: ServerArgs,

    /// Runs the services' clock this many seconds ahead of the system clock, to see time-based
    /// rules (reclaim, reminders, dwell alerts) fire in a demo or an end-to-end test.
    #[arg(
        long,
        env = "RAPPORT_CLOCK_OFFSET_SECS",
        default_value_t = 0,
        hide = true
    )]
    pub clock_offset_secs: i64,
}

/// Runs until SIGTERM or Ctrl-C, then shuts down gracefully.
pub async fn run(args: Args, log_format: LogFormat) -> Outcome {
    let entries: Vec<ServiceEntry> = services::select(&args.services)?;
    let name = if entries.len() == 1 {
        entries[0].name
    } else {
        "suite"
    };
    let _telemetry = telemetry::init(&format!("rapport-{name}"), log_format)?;
    // A bad allow-list stops the start here, naming the entry, rather than leaving webhooks
    // refused everywhere without a word.
    if let Err(e) = args
        .server
        .webhook_allow_networks
        .parse::<rapport_kit::webhooks::Policy>()
    {
        return Err(format!("--webhook-allow-networks: {e}").into());
    }
    // Channel settings that do not read (half a channel, a bad URL or secret) stop the start
    // too; channels left unset are only unavailable.
    rapport_kit::channels::Channels::check(&args.server.channels)?;
    let (keys, created) = suite::resolve_keys(&args.server)?;
    let keys = Arc::new(keys);
    if created {
        // First standalone start: hand the operator a way in, as a dev-mode server would.
        let token = keys.issue(
            "default",
            "admin",
            &[Role::Admin],
            None,
            Duration::from_secs(30 * 24 * 3600),
        )?;
        println!(
            "Created a signing secret in {}.\nAdmin token for tenant \"default\" (valid 30 days):\n\n{token}\n\n\
             Issue more with: rapport token issue --tenant T --subject S --role R",
            args.server.data_dir.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(args.server.listen).await?;
    let mut running = suite::launch(
        &args.server,
        &entries,
        keys,
        Arc::new(ShiftedClock(
            args.clock_offset_secs.saturating_mul(1_000_000),
        )),
        listener,
    )
    .await?;
    let names: Vec<_> = entries.iter().map(|e| e.name).collect();
    let metrics = running
        .metrics_addr
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    tracing::info!(addr = %running.addr, metrics = %metrics, services = ?names, "serving");
    let stop = running.take_stop();
    tokio::select! {
        res = running.wait() => res?,
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
            running.wait().await?;
        }
    }
    tracing::info!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}
