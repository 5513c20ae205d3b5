//! `rapport token issue`: signs access tokens with the server's secret.

use std::{path::PathBuf, time::Duration};

use rapport_runtime::{
    auth::{JwtKeys, Role, load_or_create_secret},
    config::redacted,
};

use super::Outcome;

/// Token subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Prints a signed token.
    Issue(IssueArgs),
}

/// Arguments of `rapport token issue`; `Debug` leaves out the secret.
#[derive(clap::Args)]
pub struct IssueArgs {
    /// The tenant the token acts in.
    #[arg(long)]
    pub tenant: String,
    /// The subject (user or service account id).
    #[arg(long)]
    pub subject: String,
    /// A role: admin, manager, rep, service_agent, marketer, partner, service_account; repeat
    /// for several.
    #[arg(long = "role", required = true)]
    pub roles: Vec<Role>,
    /// The subject's sales team, for row visibility of reps.
    #[arg(long)]
    pub team: Option<String>,
    /// Lifetime in hours.
    #[arg(long, default_value_t = 24)]
    pub ttl_hours: u64,
    /// The HS256 secret; unset: the data directory's `jwt-secret` file.
    #[arg(long, env = "RAPPORT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Directory holding the standalone secret.
    #[arg(long, env = "RAPPORT_DATA_DIR", default_value = "rapport-data")]
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for IssueArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueArgs")
            .field("tenant", &self.tenant)
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .field("team", &self.team)
            .field("ttl_hours", &self.ttl_hours)
            .field("jwt_secret", &redacted(self.jwt_secret.as_deref()))
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// Prints the token on stdout.
pub fn run(cmd: Command) -> Outcome {
    let Command::Issue(args) = cmd;
    let secret = match args.jwt_secret {
        Some(s) => s.into_bytes(),
        None => load_or_create_secret(&args.data_dir)?.0,
    };
    let keys = JwtKeys::hs256(&secret);
    let ttl = Duration::from_secs(args.ttl_hours.saturating_mul(3600));
    println!(
        "{}",
        keys.issue(
            &args.tenant,
            &args.subject,
            &args.roles,
            args.team.as_deref(),
            ttl
        )?
    );
    Ok(std::process::ExitCode::SUCCESS)
}
