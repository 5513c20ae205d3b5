//! Taxes and fees on orders (OR5): the tenant's charge rules, and what they make of an order.
//! A rule's base is the order's amount after discounts, or only the lines of a category or
//! within an area range (a home's deed tax by its size); its rate applies to the base, rounded
//! half up to a minor unit, and its fixed amount is added once when anything matched.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Charge rules per tenant, at most.
pub const MAX_RULES: usize = 50;
/// A rate of 100%, in basis points.
pub const FULL_RATE: i64 = 10_000;

/// A tax or a fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChargeKind {
    Tax,
    Fee,
}

/// Which purchases of a customer a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirstPurchase {
    Any,
    Only,
    Repeat,
}

/// A tenant's charge rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRule {
    pub key: String,
    pub display_name: String,
    pub kind: ChargeKind,
    pub rate_basis_points: i64,
    /// Added once per order in `fixed_currency`, when set.
    pub fixed_amount: i64,
    pub fixed_currency: String,
    pub category: Option<Uuid>,
    /// Lines whose area is more than this, in thousandths of a square metre.
    pub min_area_milli: Option<i64>,
    /// Lines whose area is at most this, in thousandths of a square metre.
    pub max_area_milli: Option<i64>,
    pub first_purchase: FirstPurchase,
}

/// A line as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineBase {
    pub amount: i64,
    pub category: Uuid,
    pub area_milli: Option<i64>,
}

/// A charge on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub rule: String,
    pub display_name: String,
    pub kind: ChargeKind,
    pub base: i64,
    pub amount: i64,
}

impl ChargeRule {
    /// Whether the rule looks at lines (a category or an area range) rather than the order.
    fn by_line(&self) -> bool {
        self.category.is_some() || self.min_area_milli.is_some() || self.max_area_milli.is_some()
    }

    fn matches(&self, l: &LineBase) -> bool {
        let in_category = self.category.is_none_or(|c| c == l.category);
        let above = self
            .min_area_milli
            .is_none_or(|min| l.area_milli.is_some_and(|a| a > min));
        let below = self
            .max_area_milli
            .is_none_or(|max| l.area_milli.is_some_and(|a| a <= max));
        in_category && above && below
    }

    /// The charge on an order of `lines` (amounts after their discounts), `net` after every
    /// discount, in `currency`, whose customer `first` ordered nothing before; none when the
    /// rule does not apply.
    pub fn charge(
        &self,
        lines: &[LineBase],
        net: i64,
        currency: &str,
        first: bool,
    ) -> Option<Charge> {
        let purchase_matches = match self.first_purchase {
            FirstPurchase::Any => true,
            FirstPurchase::Only => first,
            FirstPurchase::Repeat => !first,
        };
        if !purchase_matches || lines.is_empty() {
            return None;
        }
        let base = if self.by_line() {
            let matching: Vec<&LineBase> = lines.iter().filter(|l| self.matches(l)).collect();
            if matching.is_empty() {
                return None;
            }
            matching.iter().map(|l| l.amount).sum()
        } else {
            net
        };
        let fixed = if self.fixed_currency == currency {
            self.fixed_amount
        } else {
            0
        };
        Some(Charge {
            rule: self.key.clone(),
            display_name: self.display_name.clone(),
            kind: self.kind,
            base,
            amount: rate_of(base, self.rate_basis_points) + fixed,
        })
    }
}

/// `base` × `basis_points` / 10,000, rounded half up.
pub fn rate_of(base: i64, basis_points: i64) -> i64 {
    let product = i128::from(base) * i128::from(basis_points);
    let full = i128::from(FULL_RATE);
    i64::try_from((product + full / 2).div_euclid(full)).unwrap_or(i64::MAX)
}

/// Reads a decimal area in square metres ("90", "144.5", up to three places) as thousandths.
pub fn parse_area(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not an area in square metres, e.g. \"90\" or \"144.5\"");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 9
        || fraction.len() > 3
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (text.contains('.') && fraction.is_empty())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = format!("{fraction:0<3}").parse().map_err(|_| bad())?;
    Ok(whole * 1000 + fraction)
}

/// Writes thousandths of a square metre back as a decimal.
pub fn format_area(milli: i64) -> String {
    let (whole, fraction) = (milli / 1000, milli % 1000);
    if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction:03}")
            .trim_end_matches('0')
            .to_owned()
    }
}

/// What is wrong with a tenant's rules, by field.
pub fn problems(rules: &[ChargeRule]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if rules.len() > MAX_RULES {
        out.push((
            "settings.charge_rules".to_owned(),
            format!("at most {MAX_RULES} rules, got {}", rules.len()),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let at = |f: &str| format!("settings.charge_rules[{i}].{f}");
        if !seen.insert(r.key.as_str()) {
            out.push((at("key"), format!("{:?} is used by an earlier rule", r.key)));
        }
        if !(0..=FULL_RATE).contains(&r.rate_basis_points) {
            out.push((
                at("rate_basis_points"),
                "must be 0..10000 (0..100%)".to_owned(),
            ));
        }
        if let (Some(min), Some(max)) = (r.min_area_milli, r.max_area_milli)
            && min >= max
        {
            out.push((
                at("max_area_m2"),
                "must be more than min_area_m2".to_owned(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deed_tax(
        key: &str,
        bp: i64,
        min: Option<i64>,
        max: Option<i64>,
        first: FirstPurchase,
    ) -> ChargeRule {
        ChargeRule {
            key: key.into(),
            display_name: key.into(),
            kind: ChargeKind::Tax,
            rate_basis_points: bp,
            fixed_amount: 0,
            fixed_currency: String::new(),
            category: None,
            min_area_milli: min,
            max_area_milli: max,
            first_purchase: first,
        }
    }

    fn home(amount: i64, area_m2: i64) -> LineBase {
        LineBase {
            amount,
            category: Uuid::nil(),
            area_milli: Some(area_m2 * 1000),
        }
    }

    #[test]
    fn a_deed_tax_by_size_and_first_purchase() {
        let small = deed_tax("small", 100, None, Some(90_000), FirstPurchase::Only);
        let large = deed_tax("large", 150, Some(90_000), None, FirstPurchase::Only);
        let second = deed_tax("second", 300, None, None, FirstPurchase::Repeat);
        let flat = [home(300_000_000, 90)];
        assert_eq!(
            small
                .charge(&flat, 300_000_000, "CNY", true)
                .unwrap()
                .amount,
            3_000_000
        );
        assert!(
            large.charge(&flat, 300_000_000, "CNY", true).is_none(),
            "90 m² is small"
        );
        assert!(second.charge(&flat, 300_000_000, "CNY", true).is_none());
        let villa = [home(500_000_000, 144)];
        assert_eq!(
            large
                .charge(&villa, 500_000_000, "CNY", true)
                .unwrap()
                .amount,
            7_500_000
        );
        assert_eq!(
            second
                .charge(&villa, 500_000_000, "CNY", false)
                .unwrap()
                .amount,
            15_000_000
        );
    }

    #[test]
    fn rates_round_half_up_and_fixed_amounts_come_in_their_currency() {
        assert_eq!(rate_of(150, 100), 2);
        assert_eq!(rate_of(149, 100), 1);
        let mut fee = deed_tax("install", 0, None, None, FirstPurchase::Any);
        fee.kind = ChargeKind::Fee;
        fee.fixed_amount = 20_000;
        fee.fixed_currency = "CNY".into();
        let lines = [home(1_000, 10)];
        assert_eq!(
            fee.charge(&lines, 1_000, "CNY", false).unwrap().amount,
            20_000
        );
        assert_eq!(fee.charge(&lines, 1_000, "USD", false).unwrap().amount, 0);
        assert!(
            fee.charge(&[], 0, "CNY", false).is_none(),
            "an empty order pays nothing"
        );
    }

    #[test]
    fn areas_read_and_write_as_decimals() {
        assert_eq!(parse_area("90"), Ok(90_000));
        assert_eq!(parse_area(" 144.5 "), Ok(144_500));
        assert_eq!(parse_area("0.125"), Ok(125));
        for bad in ["", "-1", "1.2345", "ninety", "1.", ".5", "1e3"] {
            assert!(parse_area(bad).is_err(), "{bad}");
        }
        assert_eq!(format_area(144_500), "144.5");
        assert_eq!(format_area(90_000), "90");
    }

    #[test]
    fn rules_must_be_distinct_with_sane_rates_and_ranges() {
        let mut r = deed_tax("a", 10_001, Some(5), Some(5), FirstPurchase::Any);
        let twice = r.clone();
        r.rate_basis_points = 10_001;
        let found: Vec<String> = problems(&[r, twice]).into_iter().map(|p| p.0).collect();
        assert_eq!(
            found,
            [
                "settings.charge_rules[0].rate_basis_points",
                "settings.charge_rules[0].max_area_m2",
                "settings.charge_rules[1].key",
                "settings.charge_rules[1].rate_basis_points",
                "settings.charge_rules[1].max_area_m2",
            ]
        );
    }
}
