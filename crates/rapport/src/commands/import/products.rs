//! `rapport import products FILE.csv`: a product catalog, one row per variant, created
//! through CatalogService with a progress bar. Categories named by path are found or created;
//! each product is created with a request id made from its rows, so importing the same file
//! again creates nothing twice. Every row not imported is reported.

use std::collections::{BTreeMap, HashMap};

use futures::{StreamExt, stream};
use rapport_proto::{
    orders::{self as pb, catalog_service_client::CatalogServiceClient},
    types,
};
use sha2::{Digest, Sha256};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

use super::{Args, Auth, bar, connect, headers};
use crate::commands::Outcome;

type Client = CatalogServiceClient<InterceptedService<Channel, Auth>>;

const COLUMNS: &[&str] = &[
    "product",
    "category",
    "sku",
    "variant",
    "currency",
    "price",
    "cost",
    "status",
    "description",
];

/// Currencies without minor units: their amounts have no decimals.
const WHOLE_CURRENCIES: &[&str] = &[
    "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "XAF", "XOF",
];

/// One row of the file and its line (the header is line 1).
struct Row {
    line: usize,
    record: HashMap<String, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.record.get(column).map_or("", |v| v.trim())
    }

    /// `prefix.<key>` columns as attributes, without empty values.
    fn attributes(&self, prefix: &str) -> BTreeMap<String, String> {
        self.record
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.trim().to_owned())))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }
}

/// A row not imported.
struct Rejected {
    line: usize,
    status: &'static str,
    what: String,
    problems: String,
}

/// `text`, a decimal amount of `currency`, in minor units.
fn amount(text: &str, currency: &str) -> Result<i64, String> {
    let places = if WHOLE_CURRENCIES.contains(&currency) {
        0
    } else {
        2
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dot = text.contains('.');
    if !digits(whole) || (dot && !digits(fraction)) || fraction.len() > places {
        return Err(format!(
            "{text:?} is not an amount of {currency} (at most {places} decimals)"
        ));
    }
    let scaled = format!("{whole}{fraction:0<places$}");
    scaled
        .parse()
        .map_err(|_| format!("{text:?} is too large an amount"))
}

fn money(currency: &str, minor_units: i64) -> types::Money {
    types::Money {
        currency_code: currency.to_owned(),
        minor_units,
    }
}

/// The variant of a row, or what is wrong with it.
fn variant(row: &Row) -> Result<pb::Variant, String> {
    let currency = row.get("currency").to_uppercase();
    let currency = if currency.is_empty() {
        "CNY".to_owned()
    } else {
        currency
    };
    let price = amount(row.get("price"), &currency).map_err(|e| format!("price: {e}"))?;
    let costs = match row.get("cost") {
        "" => Vec::new(),
        cost => vec![money(
            &currency,
            amount(cost, &currency).map_err(|e| format!("cost: {e}"))?,
        )],
    };
    Ok(pb::Variant {
        sku: row.get("sku").to_owned(),
        display_name: row.get("variant").to_owned(),
        attributes: row.attributes("variant."),
        list_prices: vec![money(&currency, price)],
        costs,
    })
}

/// Finds or creates the categories of `paths` ("Living room/Sofas"); their names by path.
async fn categories(
    client: &mut Client,
    paths: impl Iterator<Item = String>,
) -> Result<HashMap<String, String>, Box<dyn std::error::Error>> {
    // Every category of the tenant, by (parent, lower-cased name).
    let mut known: HashMap<(String, String), String> = HashMap::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_categories(pb::ListCategoriesRequest {
                page_size: 1000,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        for c in page.categories {
            known.insert((c.parent.clone(), c.display_name.to_lowercase()), c.name);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut out = HashMap::new();
    for path in paths {
        let mut parent = String::new();
        for part in path.split('/').map(str::trim).filter(|p| !p.is_empty()) {
            let key = (parent.clone(), part.to_lowercase());
            parent = match known.get(&key) {
                Some(name) => name.clone(),
                None => {
                    let made = client
                        .create_category(pb::CreateCategoryRequest {
                            category: Some(pb::Category {
                                display_name: part.to_owned(),
                                parent: parent.clone(),
                                ..Default::default()
                            }),
                            request_id: request_id("category", &format!("{parent}/{part}")),
                        })
                        .await?
                        .into_inner();
                    known.insert(key, made.name.clone());
                    made.name
                }
            };
        }
        out.insert(path, parent);
    }
    Ok(out)
}

/// A request id made from `what`: the same rows make the same id, so a second import of a
/// file is answered with the first import's results.
fn request_id(kind: &str, what: &str) -> String {
    let digest = Sha256::digest(what.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("import:{kind}:{hex}")
}

/// Runs the import; exits 0 when every row was read, whatever became of it.
pub async fn run(args: Args, parallel: usize) -> Outcome {
    let mut reader = csv::Reader::from_path(&args.file)?;
    let headers = headers(&mut reader, COLUMNS, &["attr.", "variant."])?;
    // Rows of one product stay together, in the order the file first names them.
    let mut groups: Vec<(String, Vec<Row>)> = Vec::new();
    let mut total = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let row = Row {
            line: i + 2,
            record: headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect(),
        };
        total += 1;
        let product = row.get("product").to_owned();
        match groups.iter_mut().find(|(p, _)| *p == product) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((product, vec![row])),
        }
    }

    let (channel, auth) = connect(&args).await?;
    let mut client = CatalogServiceClient::with_interceptor(channel, auth);
    let paths: std::collections::BTreeSet<String> = groups
        .iter()
        .map(|(_, rows)| rows[0].get("category").to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let categories = categories(&mut client, paths.into_iter()).await?;

    let bar = bar(total, "rows")?;
    let mut rejected: Vec<Rejected> = Vec::new();
    let mut jobs = Vec::new();
    for (name, rows) in groups {
        let mut variants = Vec::new();
        let mut taken = Vec::new();
        for row in rows {
            match variant(&row) {
                Ok(v) => {
                    variants.push(v);
                    taken.push(row);
                }
                Err(problem) => rejected.push(Rejected {
                    line: row.line,
                    status: "invalid",
                    what: row.get("sku").to_owned(),
                    problems: problem,
                }),
            }
        }
        let Some(first) = taken.first() else {
            continue;
        };
        let product = pb::Product {
            display_name: name.clone(),
            category: categories
                .get(first.get("category"))
                .cloned()
                .unwrap_or_default(),
            description: first.get("description").to_owned(),
            status: match first.get("status").to_lowercase().as_str() {
                "discontinued" => pb::ProductStatus::Discontinued,
                _ => pb::ProductStatus::Active,
            }
            .into(),
            attributes: first.attributes("attr."),
            variants,
            ..Default::default()
        };
        let id = request_id("product", &format!("{product:?}"));
        jobs.push((product, id, taken));
    }
    bar.inc(rejected.len() as u64);

    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut results = stream::iter(jobs.into_iter().map(|(product, request_id, rows)| {
        let mut client = client.clone();
        async move {
            let answer = client
                .create_product(pb::CreateProductRequest {
                    product: Some(product),
                    request_id,
                })
                .await;
            (answer, rows)
        }
    }))
    .buffer_unordered(parallel.max(1));
    while let Some((answer, rows)) = results.next().await {
        match answer {
            Ok(_) => *counts.entry("created").or_default() += rows.len() as u64,
            Err(status) => {
                let label = match status.code() {
                    Code::InvalidArgument | Code::AlreadyExists => "invalid",
                    _ => "failed",
                };
                let problems = match status.get_details_bad_request() {
                    Some(b) => b
                        .field_violations
                        .iter()
                        .map(|v| format!("{}: {}", v.field, v.description))
                        .collect::<Vec<_>>()
                        .join("; "),
                    None => status.message().to_owned(),
                };
                for row in &rows {
                    rejected.push(Rejected {
                        line: row.line,
                        status: label,
                        what: row.get("sku").to_owned(),
                        problems: problems.clone(),
                    });
                }
            }
        }
        bar.inc(rows.len() as u64);
        bar.set_message(format!("{counts:?}"));
    }
    bar.finish();
    for r in &rejected {
        *counts.entry(r.status).or_default() += 1;
    }
    if let Some(path) = &args.report {
        rejected.sort_by_key(|r| r.line);
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(["line", "status", "sku", "problems"])?;
        for r in &rejected {
            w.write_record([
                r.line.to_string(),
                r.status.to_owned(),
                r.what.clone(),
                r.problems.clone(),
            ])?;
        }
        w.flush()?;
    }
    for (label, n) in &counts {
        println!("{n:>10}  {label}");
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_the_currency_s_units() {
        assert_eq!(amount("8999.00", "CNY"), Ok(899_900));
        assert_eq!(amount("8999.5", "CNY"), Ok(899_950));
        assert_eq!(amount("12", "CNY"), Ok(1_200));
        assert_eq!(amount("1500", "JPY"), Ok(1_500));
        for bad in ["", "-1", "1.234", "1,000", "12.", "abc"] {
            assert!(amount(bad, "CNY").is_err(), "{bad}");
        }
        assert!(amount("1.5", "JPY").is_err());
    }
}
