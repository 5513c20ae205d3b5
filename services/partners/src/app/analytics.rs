//! The partner report (PA7): sales, commissions and registered-deal conversion per partner and
//! tier over a period. A partner sees its own row only.

use std::collections::BTreeMap;

use rapport_runtime::{Result, auth::Principal};
use uuid::Uuid;

use super::{App, Viewer, viewer};
use crate::{
    domain::{
        analytics::{Row, by_tier},
        registration::State,
    },
    store::analytics as store,
};

/// One partner's row, with its name and tier.
pub struct PartnerRow {
    pub id: String,
    pub display_name: String,
    pub tier_id: String,
    pub row: Row,
}

/// The report over [`start`, `end`), of `only` (a partner) when given: rows per partner by
/// sales, and per tier.
pub async fn report(
    app: &App,
    p: &Principal,
    period: (i64, i64),
    only: Option<Uuid>,
) -> Result<(Vec<PartnerRow>, BTreeMap<String, (i64, Row)>)> {
    let only = match viewer(p) {
        Viewer::Staff => only.map(|u| u.to_string()),
        Viewer::Partner(own) if only.is_none_or(|o| o == own) => Some(own.to_string()),
        // Another partner's report, or no partner: nothing.
        _ => return Ok((Vec::new(), BTreeMap::new())),
    };
    let tenant = p.tenant_id.as_str();
    let mut conn = app.db().pool().acquire().await?;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (partner, currency, total) in store::sales(&mut conn, tenant, period).await? {
        *rows
            .entry(partner)
            .or_default()
            .sales
            .entry(currency)
            .or_default() += total;
    }
    for (partner, currency, total) in store::commissions(&mut conn, tenant, period).await? {
        *rows
            .entry(partner)
            .or_default()
            .commissions
            .entry(currency)
            .or_default() += total;
    }
    for (partner, state, n) in store::registrations(&mut conn, tenant, period).await? {
        if let Some(state) = State::parse(&state) {
            rows.entry(partner).or_default().registrations.add(state, n);
        }
    }
    if let Some(only) = &only {
        rows.retain(|id, _| id == only);
    }
    let known: BTreeMap<String, (String, String)> = store::partners(&mut conn, tenant)
        .await?
        .into_iter()
        .map(|(id, name, tier)| (id, (name, tier)))
        .collect();
    let mut out: Vec<PartnerRow> = rows
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .filter_map(|(id, row)| {
            let (display_name, tier_id) = known.get(&id)?.clone();
            Some(PartnerRow {
                id,
                display_name,
                tier_id,
                row,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.row
            .top_sales()
            .cmp(&a.row.top_sales())
            .then(a.id.cmp(&b.id))
    });
    let tiers = by_tier(out.iter().map(|r| (r.tier_id.as_str(), &r.row)));
    Ok((out, tiers))
}
