//! PartnerAnalyticsService: the partner report.

use rapport_kit::validate;
use rapport_proto::{partners as pb, types as pt};
use rapport_runtime::{Result, validation::Violations};
use std::collections::BTreeMap;
use tonic::Request;

use super::support::{READERS, authorize};
use crate::{
    app::{App, analytics},
    domain::{
        analytics::{Counts, Row},
        partner::PARTNERS,
        tier::TIERS,
    },
};

/// The longest period a report covers.
const MAX_DAYS: i64 = 366;

fn moneys(m: &BTreeMap<String, i64>) -> Vec<pt::Money> {
    m.iter()
        .map(|(c, v)| pt::Money {
            currency_code: c.clone(),
            minor_units: *v,
        })
        .collect()
}

fn counts(c: &Counts) -> pb::RegistrationCounts {
    pb::RegistrationCounts {
        submitted: c.submitted,
        approved: c.approved,
        rejected: c.rejected,
        converted: c.converted,
        conversion_percent: c.conversion_percent(),
    }
}

fn tier_name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("{TIERS}/{id}")
    }
}

fn row_parts(r: &Row) -> (Vec<pt::Money>, Vec<pt::Money>, pb::RegistrationCounts) {
    (
        moneys(&r.sales),
        moneys(&r.commissions),
        counts(&r.registrations),
    )
}

pub(super) async fn report(
    app: &App,
    req: Request<pb::GetPartnerReportRequest>,
) -> Result<pb::PartnerReport> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let mut required = |ts: Option<&prost_types::Timestamp>, field: &str| {
        if ts.is_none() {
            v.add(field, "is required");
        }
        validate::optional_time(ts, field, &mut v)
    };
    let start = required(msg.start_time.as_ref(), "start_time");
    let end = required(msg.end_time.as_ref(), "end_time");
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            v.add("end_time", "must be after start_time");
        } else if e - s > MAX_DAYS * 86_400_000_000 {
            v.add(
                "end_time",
                format!("is more than {MAX_DAYS} days after start_time"),
            );
        }
    }
    let only = validate::optional_id_in(PARTNERS, &msg.partner, "partner", &mut v);
    let (start, end) = v.finish((start, end))?;
    let period = (start.unwrap_or_default(), end.unwrap_or_default());
    let (rows, tiers) = analytics::report(app, &p, period, only).await?;
    Ok(pb::PartnerReport {
        partners: rows
            .iter()
            .map(|r| {
                let (sales, commissions, registrations) = row_parts(&r.row);
                pb::PartnerRow {
                    partner: format!("{PARTNERS}/{}", r.id),
                    display_name: r.display_name.clone(),
                    tier: tier_name(&r.tier_id),
                    sales,
                    commissions,
                    registrations: Some(registrations),
                }
            })
            .collect(),
        tiers: tiers
            .iter()
            .map(|(tier, (n, row))| {
                let (sales, commissions, registrations) = row_parts(row);
                pb::TierRow {
                    tier: tier_name(tier),
                    partner_count: *n,
                    sales,
                    commissions,
                    registrations: Some(registrations),
                }
            })
            .collect(),
    })
}
