//! Order analytics (OR6): the market, deals, sales performance and profitability of a month,
//! read from the facts kept beside every order and computed by `domain::analytics`. Admins,
//! marketers and service accounts see the whole tenant; a manager's figures cover its team.

use std::collections::BTreeMap;

use rapport_runtime::{Error, Result, auth::Principal};

use super::{App, scope};
use crate::{
    domain::analytics::{
        self, Bands, Both, Customers, DealReport, Figures, Margin, MarketReport, Period,
        ProfitReport, SalesGroup, Standing, Tally, rank_margins,
    },
    store::analytics::{self as store, LineKey, OrderKey, Slice, Sums},
};

/// The team `p`'s figures are limited to: none for those who see the whole tenant, the
/// token's team for a manager; a manager without one is refused.
pub fn team_limit(p: &Principal) -> Result<Option<String>> {
    match scope(p) {
        rapport_kit::visibility::Scope::All => Ok(None),
        rapport_kit::visibility::Scope::Team {
            team: Some(team), ..
        } if !team.is_empty() => Ok(Some(team)),
        _ => Err(Error::PermissionDenied(
            "a manager's analytics cover its team, and this token names none".into(),
        )),
    }
}

/// Sums by key, split into the month and the month before.
fn by_key(rows: Vec<Sums>) -> BTreeMap<String, Both> {
    let mut out: BTreeMap<String, Both> = BTreeMap::new();
    for r in rows {
        out.entry(r.key).or_default().add(
            r.current,
            Tally {
                count: r.count,
                amount: r.amount,
            },
        );
    }
    out
}

/// Everything in `groups` together.
fn whole(groups: &BTreeMap<String, Both>) -> Both {
    let mut all = Both::default();
    for b in groups.values() {
        all.add(true, b.current);
        all.add(false, b.previous);
    }
    all
}

/// `groups` with their keys named in `collection` ("categories/{id}").
fn named(groups: BTreeMap<String, Both>, collection: &str) -> Vec<(String, Both)> {
    groups
        .into_iter()
        .map(|(k, b)| (format!("{collection}/{k}"), b))
        .collect()
}

/// Every band of `bands` with its sums, in band order (orders below the first are left out).
fn banded(bands: &Bands, mut groups: BTreeMap<String, Both>) -> Vec<(String, Both)> {
    bands
        .bounds()
        .iter()
        .map(|b| {
            let key = b.to_string();
            let sums = groups.remove(&key).unwrap_or_default();
            (key, sums)
        })
        .collect()
}

/// The slice of `p`'s tenant (its team's, for a manager) that `period` reads: the month, and
/// the month before when `previous`.
fn slice(p: &Principal, period: &Period, previous: bool) -> Result<Slice> {
    let w = period.window();
    Ok(Slice {
        tenant: p.tenant_id.clone(),
        currency: period.currency.clone(),
        team: team_limit(p)?,
        from: if previous { w.previous } else { w.start },
        split: w.start,
        to: w.end,
    })
}

/// Shares by price band, region and category in `period`'s month against the month before.
pub async fn market(
    app: &App,
    p: &Principal,
    period: &Period,
    bands: &Bands,
) -> Result<MarketReport> {
    let s = slice(p, period, true)?;
    // Each read on a connection of its own, so they run side by side.
    let pool = app.db().pool();
    let (regions, by_band, categories) = futures::try_join!(
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Region).await },
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Band(bands)).await },
        async { store::line_sums(&mut *pool.acquire().await?, &s, LineKey::Category).await },
    )?;
    let (regions, by_band, categories) = (by_key(regions), by_key(by_band), by_key(categories));
    // Every order has a region (empty or not), so the regions add up to the month.
    let total = whole(&regions);
    let units = whole(&categories);
    let mut regions = analytics::shares(regions.into_iter().collect(), total);
    analytics::largest_first(&mut regions);
    let mut categories = analytics::shares(named(categories, "categories"), units);
    analytics::largest_first(&mut categories);
    Ok(MarketReport {
        total,
        bands: analytics::shares(banded(bands, by_band), total),
        regions,
        categories,
    })
}

/// Customers, repurchase, the structure by band and region and the conversion from
/// opportunities in `period`'s month.
pub async fn deals(app: &App, p: &Principal, period: &Period, bands: &Bands) -> Result<DealReport> {
    let s = slice(p, period, false)?;
    let pool = app.db().pool();
    let (regions, by_band, opportunity, (in_month, repeat_in_month), firsts) = futures::try_join!(
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Region).await },
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Band(bands)).await },
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Opportunity).await },
        async { store::month_customers(&mut *pool.acquire().await?, &s).await },
        async { store::first_orders(&mut *pool.acquire().await?, &s).await },
    )?;
    let (regions, by_band, opportunity) = (by_key(regions), by_key(by_band), by_key(opportunity));
    let (new, to_date, repeat_to_date) = firsts;
    let total = whole(&regions).current;
    let figures = |parts: Vec<(String, Both)>| -> Vec<(String, Figures)> {
        parts
            .into_iter()
            .map(|(k, b)| (k, Figures::of(b.current, total)))
            .collect()
    };
    let mut regions = figures(regions.into_iter().collect());
    regions.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then_with(|| a.0.cmp(&b.0)));
    Ok(DealReport {
        total,
        customers: Customers {
            in_month,
            repeat_in_month,
            new,
            to_date,
            repeat_to_date,
        },
        opportunity_orders: opportunity.get("1").map_or(0, |b| b.current.count),
        bands: figures(banded(bands, by_band)),
        regions,
    })
}

/// Reps or teams ranked by their orders in `period`'s month against the month before.
pub async fn sales(
    app: &App,
    p: &Principal,
    period: &Period,
    group: SalesGroup,
    limit: usize,
) -> Result<analytics::Board> {
    let s = slice(p, period, true)?;
    let key = match group {
        SalesGroup::Rep => OrderKey::Owner,
        SalesGroup::Team => OrderKey::Team,
    };
    let mut conn = app.db().pool().acquire().await?;
    let mut groups = by_key(store::order_sums(&mut conn, &s, key).await?);
    // Orders without a team are on no team's line.
    groups.remove("");
    let standings = named(groups, group.collection())
        .into_iter()
        .map(|(key, sales)| Standing { key, sales })
        .collect();
    Ok(analytics::rank(standings, limit))
}

/// Margins in `period`'s month by product, category and customer.
pub async fn profitability(
    app: &App,
    p: &Principal,
    period: &Period,
    limit: usize,
) -> Result<ProfitReport> {
    let s = slice(p, period, false)?;
    let pool = app.db().pool();
    let (customers, products, categories) = futures::try_join!(
        async { store::order_sums(&mut *pool.acquire().await?, &s, OrderKey::Customer).await },
        async { store::line_sums(&mut *pool.acquire().await?, &s, LineKey::Product).await },
        async { store::line_sums(&mut *pool.acquire().await?, &s, LineKey::Category).await },
    )?;
    let margins = |rows: Vec<Sums>, collection: &str| -> Vec<Margin> {
        rows.into_iter()
            .map(|r| Margin {
                key: format!("{collection}/{}", r.key),
                count: r.count,
                amount: r.amount,
                cost: r.cost,
            })
            .collect()
    };
    let customers = margins(customers, "customers");
    let products = margins(products, "products");
    let categories = margins(categories, "categories");
    let total = customers.iter().fold(
        Margin {
            key: String::new(),
            count: 0,
            amount: 0,
            cost: 0,
        },
        |mut t, m| {
            t.count += m.count;
            t.amount = t.amount.saturating_add(m.amount);
            t.cost = t.cost.saturating_add(m.cost);
            t
        },
    );
    Ok(ProfitReport {
        total,
        products: rank_margins(products, limit),
        categories: rank_margins(categories, limit),
        customers: rank_margins(customers, limit),
    })
}
