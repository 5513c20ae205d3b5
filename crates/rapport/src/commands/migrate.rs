//! `rapport migrate [SERVICE…]`: applies pending migrations and exits (the Helm chart runs it
//! as a pre-install / pre-upgrade hook).

use std::path::PathBuf;

use rapport_runtime::{
    config::{ServerArgs, redacted},
    suite, telemetry,
};

use super::Outcome;
use crate::services;

/// Arguments of `rapport migrate`; `Debug` leaves out the database URL (it may carry a password).
#[derive(clap::Args)]
pub struct Args {
    /// Services to migrate; all when none is named.
    pub services: Vec<String>,

    /// PostgreSQL URL; unset: the SQLite files under the data directory.
    #[arg(long, env = "RAPPORT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the standalone SQLite files.
    #[arg(long, env = "RAPPORT_DATA_DIR", default_value = "rapport-data")]
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("services", &self.services)
            .field("database_url", &redacted(self.database_url.as_deref()))
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// Migrates each service in turn.
pub async fn run(args: Args, log_format: telemetry::LogFormat) -> Outcome {
    let _telemetry = telemetry::init("rapport-migrate", log_format)?;
    let mut server = <ServerArgs as clap::FromArgMatches>::from_arg_matches(
        &<ServerArgs as clap::Args>::augment_args(clap::Command::new("x")).get_matches_from(["x"]),
    )?;
    server.database_url = args.database_url;
    server.data_dir = args.data_dir;
    server.db_max_connections = 2;
    for entry in services::select(&args.services)? {
        let db = suite::open_db(&server, entry.name).await?;
        db.migrate(&(entry.migrations)()).await?;
        db.close().await;
        tracing::info!(service = entry.name, "migrated");
    }
    Ok(std::process::ExitCode::SUCCESS)
}
