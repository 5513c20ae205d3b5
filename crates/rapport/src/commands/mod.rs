//! One module per subcommand.

pub mod health;
pub mod import;
pub mod migrate;
pub mod serve;
pub mod token;

/// What a subcommand returns: an exit code, or an error printed as `rapport: …`.
pub type Outcome = Result<std::process::ExitCode, Box<dyn std::error::Error>>;
