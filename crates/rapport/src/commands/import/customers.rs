//! `rapport import customers FILE.csv`: streams a CSV file to ImportCustomers with a progress
//! bar, and reports every row that was not created.

use std::collections::BTreeMap;

use rapport_proto::{
    customers::{self as pb, customer_service_client::CustomerServiceClient},
    types,
};
use tokio_stream::wrappers::ReceiverStream;

use super::{Args, bar, connect, headers};
use crate::commands::Outcome;

const COLUMNS: &[&str] = &[
    "display_name",
    "kind",
    "family_name",
    "given_name",
    "organization_name",
    "phone",
    "email",
    "wechat",
    "qq",
    "province",
    "city",
    "district",
    "street",
    "postal_code",
    "source_channel",
    "owner_id",
    "team_id",
    "store_id",
    "lifecycle_stage",
    "grade",
    "tags",
    "gender",
    "birth_date",
    "occupation",
    "title",
];

/// Runs the import; exits 0 when every row was read, whatever became of it.
pub async fn run(args: Args, batch_size: usize) -> Outcome {
    let mut reader = csv::Reader::from_path(&args.file)?;
    let headers = headers(&mut reader, COLUMNS, &["custom."])?;
    let total = csv::Reader::from_path(&args.file)?.records().count() as u64;

    let (channel, auth) = connect(&args).await?;
    let mut client = CustomerServiceClient::with_interceptor(channel, auth)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);

    let (send, recv) = tokio::sync::mpsc::channel::<pb::ImportCustomersRequest>(4);
    let batch_size = batch_size.max(1);
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    let feeder = tokio::spawn(async move {
        for chunk in rows.chunks(batch_size) {
            let customers = chunk.iter().map(|r| row_to_customer(&headers, r)).collect();
            if send
                .send(pb::ImportCustomersRequest { customers })
                .await
                .is_err()
            {
                break;
            }
        }
    });

    let bar = bar(total, "rows")?;
    let mut replies = client
        .import_customers(ReceiverStream::new(recv))
        .await?
        .into_inner();
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut report = args
        .report
        .as_ref()
        .map(csv::Writer::from_path)
        .transpose()?;
    if let Some(w) = report.as_mut() {
        w.write_record(["line", "status", "customer", "problems"])?;
    }
    while let Some(reply) = replies.message().await? {
        for r in reply.results {
            let status = r.status();
            let label = match status {
                pb::ImportRowStatus::Created => "created",
                pb::ImportRowStatus::CreatedFlagged => "created (possible duplicate)",
                pb::ImportRowStatus::Duplicate => "duplicate",
                pb::ImportRowStatus::Invalid => "invalid",
                pb::ImportRowStatus::Unspecified => "unknown",
            };
            *counts.entry(label).or_default() += 1;
            if status != pb::ImportRowStatus::Created
                && let Some(w) = report.as_mut()
            {
                let problems: Vec<String> = r
                    .violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect();
                // The row's line in the file, the header being line 1: what an editor and a
                // spreadsheet show next to it.
                w.write_record([
                    (r.row + 2).to_string(),
                    label.to_owned(),
                    r.customer,
                    problems.join("; "),
                ])?;
            }
            bar.inc(1);
        }
        bar.set_message(format!("{counts:?}"));
    }
    feeder.await?;
    bar.finish();
    if let Some(mut w) = report {
        w.flush()?;
    }
    for (label, n) in &counts {
        println!("{n:>10}  {label}");
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn row_to_customer(headers: &[String], row: &csv::StringRecord) -> pb::Customer {
    // A row without a kind is a person, as most customers are.
    let mut c = pb::Customer {
        kind: pb::CustomerKind::Person.into(),
        ..Default::default()
    };
    let mut demographics = pb::Demographics::default();
    let mut address = pb::Address::default();
    let mut custom = prost_types::Struct::default();
    for (header, value) in headers.iter().zip(row.iter()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let many = || {
            value
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        match header.as_str() {
            "display_name" => c.display_name = value.to_owned(),
            "kind" => {
                c.kind = match value.to_ascii_lowercase().as_str() {
                    "person" => pb::CustomerKind::Person.into(),
                    "organization" => pb::CustomerKind::Organization.into(),
                    // Not a kind: the server reports the row's kind as invalid.
                    _ => -1,
                }
            }
            "family_name" => c.family_name = value.to_owned(),
            "given_name" => c.given_name = value.to_owned(),
            "organization_name" => c.organization_name = value.to_owned(),
            "phone" => c.phones.extend(many().map(|number| pb::Phone {
                number,
                ..Default::default()
            })),
            "email" => c.emails.extend(many().map(|address| pb::Email {
                address,
                ..Default::default()
            })),
            "wechat" | "qq" => {
                let platform = if header == "qq" {
                    pb::ImPlatform::Qq
                } else {
                    pb::ImPlatform::Wechat
                };
                c.im_handles.extend(many().map(|handle| pb::ImHandle {
                    platform: platform.into(),
                    handle,
                }));
            }
            "province" => address.province = value.to_owned(),
            "city" => address.city = value.to_owned(),
            "district" => address.district = value.to_owned(),
            "street" => address.street = value.to_owned(),
            "postal_code" => address.postal_code = value.to_owned(),
            "source_channel" => c.source_channel = value.to_owned(),
            "owner_id" => c.owner_id = value.to_owned(),
            "team_id" => c.team_id = value.to_owned(),
            "store_id" => c.store_id = value.to_owned(),
            "lifecycle_stage" => {
                c.lifecycle_stage = pb::LifecycleStage::from_str_name(&format!(
                    "LIFECYCLE_STAGE_{}",
                    value.to_ascii_uppercase()
                ))
                .map_or(-1, Into::into)
            }
            "grade" => c.grade = value.to_owned(),
            "tags" => c.tags.extend(many()),
            "gender" => {
                demographics.gender =
                    pb::Gender::from_str_name(&format!("GENDER_{}", value.to_ascii_uppercase()))
                        .map_or(-1, Into::into)
            }
            "birth_date" => demographics.birth_date = Some(parse_date(value)),
            "occupation" => demographics.occupation = value.to_owned(),
            "title" => demographics.title = value.to_owned(),
            key => {
                if let Some(key) = key.strip_prefix("custom.") {
                    custom.fields.insert(key.to_owned(), custom_value(value));
                }
            }
        }
    }
    if address != pb::Address::default() {
        c.addresses.push(address);
    }
    if demographics != pb::Demographics::default() {
        c.demographics = Some(demographics);
    }
    if !custom.fields.is_empty() {
        c.custom_fields = Some(custom);
    }
    c
}

/// A date as the server reads it; anything unreadable becomes an impossible date so the
/// server reports the row's birth_date as invalid.
fn parse_date(value: &str) -> types::Date {
    let parts: Vec<i32> = value
        .split(['-', '/'])
        .map(|p| p.trim().parse().unwrap_or(-1))
        .collect();
    match parts.as_slice() {
        [y, m, d] => types::Date {
            year: *y,
            month: *m,
            day: *d,
        },
        [m, d] => types::Date {
            year: 0,
            month: *m,
            day: *d,
        },
        _ => types::Date {
            year: -1,
            month: -1,
            day: -1,
        },
    }
}

/// Numbers and booleans stay typed, so they check against NUMBER / BOOLEAN custom fields.
fn custom_value(value: &str) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = if let Ok(n) = value.parse::<f64>() {
        Kind::NumberValue(n)
    } else if let Ok(b) = value.parse::<bool>() {
        Kind::BoolValue(b)
    } else {
        Kind::StringValue(value.to_owned())
    };
    prost_types::Value { kind: Some(kind) }
}
