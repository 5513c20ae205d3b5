//! Tiers (PA2) and how a partner earns one: the highest-ranked tier whose criteria the
//! partner's trailing numbers meet, with the reason spelled out.

use rapport_kit::validate::Money;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The collection of tiers' names.
pub const TIERS: &str = "tiers";

/// What a partner must achieve over the trailing window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    pub min_sales: Option<Money>,
    pub min_registrations: i32,
    pub min_conversion_percent: i32,
}

/// A commission rate of a product category, in basis points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRate {
    /// The category's id in the orders service.
    pub category: String,
    pub bps: i32,
}

/// What a tier gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benefits {
    pub commission_rates: Vec<CategoryRate>,
    pub default_commission_bps: i32,
    pub lead_weight: i32,
}

/// A tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub id: Uuid,
    pub display_name: String,
    pub rank: i32,
    pub criteria: Criteria,
    pub benefits: Benefits,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl Tier {
    /// "tiers/{id}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_id(TIERS, self.id)
    }
}

/// A partner's numbers over the trailing window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Confirmed, not cancelled sales by currency.
    pub sales: BTreeMap<String, i64>,
    /// Registrations decided (approved or rejected) in the window.
    pub decided: i64,
    /// Of those, approved.
    pub approved: i64,
    /// Of the approved, those whose lead was converted.
    pub converted: i64,
}

impl Stats {
    /// The converted share of approved registrations, in whole percent (0 without any).
    pub fn conversion_percent(&self) -> i64 {
        if self.approved == 0 {
            0
        } else {
            self.converted * 100 / self.approved
        }
    }
}

/// Groups digits by thousands: 1200000 → "1,200,000".
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Whether `s` meets `c`; each criterion's comparison, met or not.
pub fn judge(c: &Criteria, s: &Stats) -> (bool, Vec<String>) {
    let mut met = true;
    let mut why = Vec::new();
    let mut check = |ok: bool, text: String| {
        met &= ok;
        why.push(text);
    };
    if let Some(min) = &c.min_sales {
        let got = s.sales.get(&min.currency_code).copied().unwrap_or(0);
        let op = if got >= min.minor_units { "≥" } else { "<" };
        check(
            got >= min.minor_units,
            format!(
                "sales {} {} {op} {}",
                grouped(got),
                min.currency_code,
                grouped(min.minor_units)
            ),
        );
    }
    if c.min_registrations > 0 {
        let min = i64::from(c.min_registrations);
        let op = if s.decided >= min { "≥" } else { "<" };
        check(
            s.decided >= min,
            format!("{} registrations {op} {min}", s.decided),
        );
    }
    if c.min_conversion_percent > 0 {
        let min = i64::from(c.min_conversion_percent);
        let got = s.conversion_percent();
        let op = if got >= min { "≥" } else { "<" };
        check(got >= min, format!("conversion {got}% {op} {min}%"));
    }
    (met, why)
}

/// The tier a partner with `stats` earns among `tiers`, and why: the highest-ranked whose
/// criteria are all met. None when it meets none (the reason then says what the lowest
/// tier lacks).
pub fn evaluate<'a>(tiers: &'a [Tier], stats: &Stats) -> (Option<&'a Tier>, String) {
    let mut ranked: Vec<&Tier> = tiers.iter().collect();
    ranked.sort_by_key(|t| std::cmp::Reverse(t.rank));
    let mut last_miss = String::from("no tiers are defined");
    for t in ranked {
        let (met, why) = judge(&t.criteria, stats);
        let why = if why.is_empty() {
            "no criteria".to_owned()
        } else {
            why.join("; ")
        };
        if met {
            return (Some(t), format!("{}: {why}", t.display_name));
        }
        last_miss = format!("not {}: {why}", t.display_name);
    }
    (None, last_miss)
}

/// Most commission rates of a tier.
pub const MAX_RATES: usize = 200;

/// Most basis points: 100%.
pub const MAX_BPS: i32 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(name: &str, rank: i32, criteria: Criteria) -> Tier {
        Tier {
            id: Uuid::now_v7(),
            display_name: name.into(),
            rank,
            criteria,
            benefits: Benefits::default(),
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    fn tiers() -> Vec<Tier> {
        vec![
            tier("Silver", 1, Criteria::default()),
            tier(
                "Gold",
                2,
                Criteria {
                    min_sales: Some(Money {
                        currency_code: "CNY".into(),
                        minor_units: 1_000_000,
                    }),
                    min_registrations: 10,
                    min_conversion_percent: 0,
                },
            ),
            tier(
                "Platinum",
                3,
                Criteria {
                    min_sales: Some(Money {
                        currency_code: "CNY".into(),
                        minor_units: 5_000_000,
                    }),
                    min_registrations: 0,
                    min_conversion_percent: 30,
                },
            ),
        ]
    }

    #[test]
    fn the_highest_tier_met_wins_with_its_reasons() {
        let t = tiers();
        let stats = Stats {
            sales: BTreeMap::from([("CNY".into(), 1_200_000)]),
            decided: 12,
            approved: 10,
            converted: 2,
        };
        let (got, why) = evaluate(&t, &stats);
        assert_eq!(got.unwrap().display_name, "Gold");
        assert_eq!(
            why,
            "Gold: sales 1,200,000 CNY ≥ 1,000,000; 12 registrations ≥ 10"
        );
    }

    #[test]
    fn other_currencies_do_not_count_and_the_entry_tier_catches_the_rest() {
        let t = tiers();
        let stats = Stats {
            sales: BTreeMap::from([("USD".into(), 9_000_000)]),
            decided: 20,
            approved: 10,
            converted: 5,
        };
        let (got, why) = evaluate(&t, &stats);
        assert_eq!(got.unwrap().display_name, "Silver");
        assert_eq!(why, "Silver: no criteria");
    }

    #[test]
    fn no_tier_met_says_what_the_lowest_lacks() {
        let t = vec![tiers().remove(1)];
        let (got, why) = evaluate(&t, &Stats::default());
        assert!(got.is_none());
        assert_eq!(
            why,
            "not Gold: sales 0 CNY < 1,000,000; 0 registrations < 10"
        );
        assert_eq!(evaluate(&[], &Stats::default()).1, "no tiers are defined");
    }

    #[test]
    fn conversion_is_of_approved_registrations() {
        let s = Stats {
            approved: 3,
            converted: 1,
            ..Stats::default()
        };
        assert_eq!(s.conversion_percent(), 33);
        assert_eq!(Stats::default().conversion_percent(), 0);
        assert_eq!(grouped(-1234), "-1,234");
    }
}
