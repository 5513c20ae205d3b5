//! Order analytics (OR6): reading report requests (every bad field at once) and building the
//! reports' answers.

use rapport_kit::validate;
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::{Error, Result, validation::Violations};

use crate::domain::analytics::{
    Bands, Board, DealReport, Figures, Margin, MarginRanking, MarketReport, Month, Period,
    ProfitReport, SalesGroup, Share, Standing, Zone,
};

/// The currency of a report when the request names none.
const DEFAULT_CURRENCY: &str = "CNY";
/// Entries per list when the request says 0, and the most it may ask for.
const DEFAULT_LIMIT: i32 = 10;
const MAX_LIMIT: i32 = 100;

/// `value` once `v` holds no violation; INVALID_ARGUMENT naming every bad field otherwise.
fn checked<T>(v: Violations, value: Option<T>) -> Result<T> {
    v.finish(value)?
        .ok_or_else(|| Error::internal("a request read without a violation lacks a value"))
}

/// GetMarketReport's request: the period and the bands.
pub fn market_request(msg: &pb::GetMarketReportRequest) -> Result<(Period, Bands)> {
    let mut v = Violations::new();
    let period = parse_period(&msg.month, &msg.time_zone, &msg.currency_code, &mut v);
    let bands = parse_bands(&msg.price_bands, &mut v);
    checked(v, period.zip(bands))
}

/// GetDealReport's request: the period and the bands.
pub fn deal_request(msg: &pb::GetDealReportRequest) -> Result<(Period, Bands)> {
    let mut v = Violations::new();
    let period = parse_period(&msg.month, &msg.time_zone, &msg.currency_code, &mut v);
    let bands = parse_bands(&msg.price_bands, &mut v);
    checked(v, period.zip(bands))
}

/// GetSalesPerformance's request: the period, the grouping and the entries per list.
pub fn sales_request(msg: &pb::GetSalesPerformanceRequest) -> Result<(Period, SalesGroup, usize)> {
    let mut v = Violations::new();
    let period = parse_period(&msg.month, &msg.time_zone, &msg.currency_code, &mut v);
    let group = parse_sales_group(msg.group_by, &mut v);
    let limit = parse_limit(msg.limit, &mut v);
    checked(v, period.map(|p| (p, group, limit)))
}

/// GetProfitability's request: the period and the entries per list.
pub fn profit_request(msg: &pb::GetProfitabilityRequest) -> Result<(Period, usize)> {
    let mut v = Violations::new();
    let period = parse_period(&msg.month, &msg.time_zone, &msg.currency_code, &mut v);
    let limit = parse_limit(msg.limit, &mut v);
    checked(v, period.map(|p| (p, limit)))
}

/// The month, time zone and currency every report request has.
fn parse_period(
    month: &str,
    time_zone: &str,
    currency_code: &str,
    v: &mut Violations,
) -> Option<Period> {
    let month = if month.trim().is_empty() {
        v.add(
            "month",
            "is required: a month written YYYY-MM, e.g. \"2024-05\"",
        );
        None
    } else {
        Month::parse(month.trim())
            .map_err(|e| v.add("month", e))
            .ok()
    };
    let zone = Zone::parse(time_zone.trim())
        .map_err(|e| v.add("time_zone", e))
        .ok();
    let code = currency_code.trim();
    let currency = if code.is_empty() {
        Some(DEFAULT_CURRENCY.to_owned())
    } else if validate::is_currency(code) {
        Some(code.to_owned())
    } else {
        v.add(
            "currency_code",
            format!("{code:?} is not an ISO 4217 code (three upper-case letters, e.g. \"CNY\")"),
        );
        None
    };
    Some(Period {
        month: month?,
        zone: zone?,
        currency: currency?,
    })
}

/// The price bands of a request.
fn parse_bands(bounds: &[i64], v: &mut Violations) -> Option<Bands> {
    Bands::parse(bounds)
        .map_err(|problems| {
            for (i, what) in problems {
                match i {
                    Some(i) => v.add(format!("price_bands[{i}]"), what),
                    None => v.add("price_bands", what),
                }
            }
        })
        .ok()
}

/// The entries per list a request asks for.
fn parse_limit(limit: i32, v: &mut Violations) -> usize {
    match limit {
        0 => DEFAULT_LIMIT as usize,
        n if (1..=MAX_LIMIT).contains(&n) => n as usize,
        n => {
            v.add(
                "limit",
                format!("must be 1..{MAX_LIMIT} (0 means {DEFAULT_LIMIT}), got {n}"),
            );
            DEFAULT_LIMIT as usize
        }
    }
}

/// What sales performance groups by.
fn parse_sales_group(raw: i32, v: &mut Violations) -> SalesGroup {
    match pb::SalesGroupBy::try_from(raw) {
        Ok(pb::SalesGroupBy::Unspecified | pb::SalesGroupBy::Rep) => SalesGroup::Rep,
        Ok(pb::SalesGroupBy::Team) => SalesGroup::Team,
        Err(_) => {
            v.add("group_by", format!("{raw} is not a SalesGroupBy"));
            SalesGroup::Rep
        }
    }
}

fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

fn figures_to_proto(currency: &str, f: &Figures) -> pb::Figures {
    pb::Figures {
        count: f.count,
        amount: money(currency, f.amount),
        average: money(currency, f.average),
        amount_share: f.amount_share,
        count_share: f.count_share,
    }
}

/// The band a key names, for keys of price bands.
fn band_to_proto(currency: &str, bands: &Bands, key: &str) -> Option<pb::PriceBand> {
    let (min, max) = bands.band(key.parse().ok()?)?;
    Some(pb::PriceBand {
        min: money(currency, min),
        max: max.and_then(|m| money(currency, m)),
    })
}

fn share_to_proto(currency: &str, bands: Option<&Bands>, s: &Share) -> pb::MarketShare {
    pb::MarketShare {
        key: s.key.clone(),
        band: bands.and_then(|b| band_to_proto(currency, b, &s.key)),
        current: Some(figures_to_proto(currency, &s.current)),
        previous: Some(figures_to_proto(currency, &s.previous)),
        amount_share_shift: s.amount_shift,
        count_share_shift: s.count_shift,
    }
}

/// The answer of GetMarketReport.
pub fn market_to_proto(
    period: &Period,
    bands: &Bands,
    r: &MarketReport,
) -> pb::GetMarketReportResponse {
    let c = period.currency.as_str();
    let shares = |list: &[Share], bands: Option<&Bands>| -> Vec<pb::MarketShare> {
        list.iter().map(|s| share_to_proto(c, bands, s)).collect()
    };
    pb::GetMarketReportResponse {
        month: period.month.to_string(),
        previous_month: period.month.previous().to_string(),
        total: Some(figures_to_proto(
            c,
            &Figures::of(r.total.current, r.total.current),
        )),
        previous_total: Some(figures_to_proto(
            c,
            &Figures::of(r.total.previous, r.total.previous),
        )),
        price_bands: shares(&r.bands, Some(bands)),
        regions: shares(&r.regions, None),
        categories: shares(&r.categories, None),
    }
}

/// The answer of GetDealReport.
pub fn deals_to_proto(period: &Period, bands: &Bands, r: &DealReport) -> pb::GetDealReportResponse {
    let c = period.currency.as_str();
    let slices = |list: &[(String, Figures)], bands: Option<&Bands>| -> Vec<pb::DealSlice> {
        list.iter()
            .map(|(key, f)| pb::DealSlice {
                key: key.clone(),
                band: bands.and_then(|b| band_to_proto(c, b, key)),
                figures: Some(figures_to_proto(c, f)),
            })
            .collect()
    };
    let rate = crate::domain::analytics::ratio;
    let k = &r.customers;
    pb::GetDealReportResponse {
        month: period.month.to_string(),
        total: Some(figures_to_proto(c, &Figures::of(r.total, r.total))),
        customers: k.in_month,
        new_customers: k.new,
        returning_customers: k.returning(),
        repeat_customers: k.repeat_in_month,
        repurchase_rate: rate(k.repeat_in_month, k.in_month),
        customers_to_date: k.to_date,
        repeat_customers_to_date: k.repeat_to_date,
        repurchase_rate_to_date: rate(k.repeat_to_date, k.to_date),
        opportunity_orders: r.opportunity_orders,
        lead_conversion: rate(r.opportunity_orders, r.total.count),
        price_bands: slices(&r.bands, Some(bands)),
        regions: slices(&r.regions, None),
    }
}

/// The answer of GetSalesPerformance.
pub fn sales_to_proto(period: &Period, board: &Board) -> pb::GetSalesPerformanceResponse {
    let c = period.currency.as_str();
    let entries = |list: &[Standing]| -> Vec<pb::SalesEntry> {
        list.iter()
            .map(|s| {
                let (now, before) = (s.sales.current, s.sales.previous);
                pb::SalesEntry {
                    key: s.key.clone(),
                    order_count: now.count,
                    amount: money(c, now.amount),
                    average_amount: money(
                        c,
                        crate::domain::analytics::average(now.amount, now.count),
                    ),
                    previous_order_count: before.count,
                    previous_amount: money(c, before.amount),
                    amount_change: money(c, s.rise()),
                }
            })
            .collect()
    };
    pb::GetSalesPerformanceResponse {
        month: period.month.to_string(),
        best: entries(&board.best),
        worst: entries(&board.worst),
        rising: entries(&board.rising),
    }
}

fn margin_to_proto(currency: &str, m: &Margin) -> pb::Margin {
    pb::Margin {
        key: m.key.clone(),
        amount: money(currency, m.amount),
        cost: money(currency, m.cost),
        margin: money(currency, m.margin()),
        margin_rate: m.rate(),
        count: m.count,
    }
}

fn ranking_to_proto(currency: &str, r: &MarginRanking) -> pb::MarginRanking {
    let list = |v: &[Margin]| v.iter().map(|m| margin_to_proto(currency, m)).collect();
    pb::MarginRanking {
        top: list(&r.top),
        bottom: list(&r.bottom),
    }
}

/// The answer of GetProfitability.
pub fn profit_to_proto(period: &Period, r: &ProfitReport) -> pb::GetProfitabilityResponse {
    let c = period.currency.as_str();
    pb::GetProfitabilityResponse {
        month: period.month.to_string(),
        total: Some(margin_to_proto(c, &r.total)),
        products: Some(ranking_to_proto(c, &r.products)),
        categories: Some(ranking_to_proto(c, &r.categories)),
        customers: Some(ranking_to_proto(c, &r.customers)),
    }
}
