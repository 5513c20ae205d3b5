//! `rapport import …`: loads CSV files through the services' APIs, with a progress bar, and
//! reports every row that was not imported.

mod customers;
mod products;

use std::{path::PathBuf, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};
use rapport_runtime::config::redacted;
use tonic::{metadata::MetadataValue, service::Interceptor, transport::Channel};

use super::Outcome;

/// Import subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Imports customers from a CSV file with a header row. Columns: display_name, kind
    /// (person, the default, or organization), family_name, given_name, organization_name, phone, email,
    /// wechat, qq (several values separated by ";"), province, city, district, street,
    /// postal_code, source_channel, owner_id, team_id, store_id, lifecycle_stage, grade, tags
    /// (";"-separated), gender, birth_date (YYYY-MM-DD), occupation, title, and
    /// custom.<key> for custom fields.
    Customers(CustomerArgs),
    /// Imports a product catalog from a CSV file with a header row, one row per variant; rows
    /// with the same product name are one product. Columns: product, category (a path such as
    /// "Living room/Sofas"; missing categories are created), sku, variant, currency, price,
    /// cost (decimals in the currency's units, e.g. 8999.00), status (active, the default, or
    /// discontinued), description, attr.<key> for the product's attributes and
    /// variant.<key> for the variant's.
    Products(ProductArgs),
}

/// Where an import goes and what it reads; `Debug` leaves out the token.
#[derive(clap::Args)]
pub struct Args {
    /// The CSV file.
    pub file: PathBuf,
    /// The server.
    #[arg(long, env = "RAPPORT_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// A bearer token of an admin or manager.
    #[arg(long, env = "RAPPORT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Write rows that were not imported (line, status, what, problems) to this CSV file; a
    /// row's line is its line in FILE, the header being line 1.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("file", &self.file)
            .field("addr", &self.addr)
            .field("token", &redacted(Some(&self.token)))
            .field("report", &self.report)
            .finish()
    }
}

/// Arguments of `rapport import customers`.
#[derive(Debug, clap::Args)]
pub struct CustomerArgs {
    #[command(flatten)]
    pub args: Args,
    /// Rows per message; each message is imported in one transaction. A thousand imported
    /// fastest on PostgreSQL (a fifth faster than 500; 2,000 no faster).
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
}

/// Arguments of `rapport import products`.
#[derive(Debug, clap::Args)]
pub struct ProductArgs {
    #[command(flatten)]
    pub args: Args,
    /// Products created side by side.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
}

/// Runs the import; exits 0 when every row was read, whatever became of it.
pub async fn run(cmd: Command) -> Outcome {
    match cmd {
        Command::Customers(a) => customers::run(a.args, a.batch_size).await,
        Command::Products(a) => products::run(a.args, a.parallel).await,
    }
}

/// Adds the import's bearer token to every call.
#[derive(Clone)]
pub struct Auth(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Auth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// A channel to the server and the token's interceptor.
async fn connect(args: &Args) -> Result<(Channel, Auth), Box<dyn std::error::Error>> {
    let channel = tonic::transport::Endpoint::from_shared(args.addr.clone())?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let token = format!("Bearer {}", args.token).parse()?;
    Ok((channel, Auth(token)))
}

/// A progress bar over `total` `unit`s.
fn bar(total: u64, unit: &str) -> Result<ProgressBar, Box<dyn std::error::Error>> {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}  {{msg}}"
        ))?
        .progress_chars("##-"),
    );
    Ok(bar)
}

/// The header row of `reader`, trimmed; an error naming every column that is neither one of
/// `known` nor starts with one of `prefixes`, before anything is sent.
fn headers(
    reader: &mut csv::Reader<std::fs::File>,
    known: &[&str],
    prefixes: &[&str],
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !known.contains(&h.as_str()) && !prefixes.iter().any(|p| h.starts_with(p)))
        .collect();
    if !unknown.is_empty() {
        let patterns: Vec<String> = prefixes.iter().map(|p| format!("{p}<key>")).collect();
        return Err(format!(
            "unknown columns {unknown:?}; known: {}, {}",
            known.join(", "),
            patterns.join(", ")
        )
        .into());
    }
    Ok(headers)
}
