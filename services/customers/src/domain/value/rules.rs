//! The tenant's thresholds of customer value, part of its customer settings. Every threshold
//! has a default, so a tenant that never set them is judged sensibly (amounts in CNY fen).

use serde::{Deserialize, Serialize};

/// The currency money figures are kept in when a tenant never chose one.
pub const DEFAULT_CURRENCY: &str = "CNY";
/// The longest span, in days, a day threshold may name (a hundred years).
pub const MAX_DAYS: i32 = 36_500;
/// The highest order count a count threshold may name.
pub const MAX_ORDERS: i64 = 1_000_000;
/// The largest amount a money threshold may name, in minor units (ten trillion in a currency
/// of cents): far above any customer, far below overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// How a tenant's customers are scored, graded and grouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueRules {
    /// ISO 4217 code of the money figures; other currencies count in the order count and the
    /// last order time only (amounts are never converted).
    pub currency_code: String,
    /// Ascending: a last order at most `[0]` days old scores recency 5, … within `[3]` 2,
    /// older 1.
    pub recency_days: [i32; 4],
    /// Ascending: frequency is 1 plus how many of these the order count reaches.
    pub frequency_orders: [i64; 4],
    /// Ascending, minor units: monetary is 1 plus how many of these the total spent reaches.
    pub monetary_minor_units: [i64; 4],
    /// VIP needs both the monetary and the frequency score at least this.
    pub vip_min_score: i32,
    /// HIGH_PROFIT needs a profit contribution of at least this, minor units.
    pub high_profit_minor_units: i64,
    /// CHURNED once the last order is more than this many days old.
    pub churn_days: i32,
    /// "Frequent" in the groups: at least this many orders.
    pub frequent_orders: i64,
    /// "High value" in the groups: an average order value of at least this, minor units.
    pub high_order_value_minor_units: i64,
}

impl Default for ValueRules {
    fn default() -> Self {
        ValueRules {
            currency_code: DEFAULT_CURRENCY.to_owned(),
            recency_days: [30, 90, 180, 365],
            // Furniture and the like are bought a few times in a customer's life.
            frequency_orders: [2, 3, 4, 6],
            // 1,000, 5,000, 20,000 and 50,000 yuan.
            monetary_minor_units: [100_000, 500_000, 2_000_000, 5_000_000],
            vip_min_score: 4,
            // 10,000 yuan.
            high_profit_minor_units: 1_000_000,
            churn_days: 365,
            frequent_orders: 3,
            // 5,000 yuan.
            high_order_value_minor_units: 500_000,
        }
    }
}

/// A validated change of the rules: `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueRulesPatch {
    pub currency_code: Option<String>,
    pub recency_days: Option<[i32; 4]>,
    pub frequency_orders: Option<[i64; 4]>,
    pub monetary_minor_units: Option<[i64; 4]>,
    pub vip_min_score: Option<i32>,
    pub high_profit_minor_units: Option<i64>,
    pub churn_days: Option<i32>,
    pub frequent_orders: Option<i64>,
    pub high_order_value_minor_units: Option<i64>,
}

impl ValueRulesPatch {
    /// The rules after the change.
    pub fn apply(self, current: &ValueRules) -> ValueRules {
        let c = current.clone();
        ValueRules {
            currency_code: self.currency_code.unwrap_or(c.currency_code),
            recency_days: self.recency_days.unwrap_or(c.recency_days),
            frequency_orders: self.frequency_orders.unwrap_or(c.frequency_orders),
            monetary_minor_units: self.monetary_minor_units.unwrap_or(c.monetary_minor_units),
            vip_min_score: self.vip_min_score.unwrap_or(c.vip_min_score),
            high_profit_minor_units: self
                .high_profit_minor_units
                .unwrap_or(c.high_profit_minor_units),
            churn_days: self.churn_days.unwrap_or(c.churn_days),
            frequent_orders: self.frequent_orders.unwrap_or(c.frequent_orders),
            high_order_value_minor_units: self
                .high_order_value_minor_units
                .unwrap_or(c.high_order_value_minor_units),
        }
    }
}

/// Four strictly ascending values, each within `min..=max`: the thresholds of scores 2 to 5.
pub fn check_thresholds<T>(values: &[T], min: T, max: T) -> Result<[T; 4], String>
where
    T: Copy + Ord + std::fmt::Display,
{
    let four: [T; 4] = values
        .try_into()
        .map_err(|_| format!("needs 4 values, not {}", values.len()))?;
    if let Some(bad) = four.iter().find(|t| **t < min || **t > max) {
        return Err(format!("{bad} is not within {min}..{max}"));
    }
    if four.windows(2).any(|w| w[0] >= w[1]) {
        return Err("must be strictly ascending".into());
    }
    Ok(four)
}

/// `value` when it is within `min..=max`.
pub fn check_within<T>(value: T, min: T, max: T) -> Result<T, String>
where
    T: Copy + Ord + std::fmt::Display,
{
    if value < min || value > max {
        return Err(format!("{value} is not within {min}..{max}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_a_stored_document_lacks() {
        let rules: ValueRules = serde_json::from_str(r#"{"churn_days": 180}"#).unwrap();
        assert_eq!(
            rules,
            ValueRules {
                churn_days: 180,
                ..ValueRules::default()
            }
        );
        let json = serde_json::to_string(&ValueRules::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<ValueRules>(&json).unwrap(),
            ValueRules::default()
        );
    }

    #[test]
    fn patches_change_only_what_they_carry() {
        let patch = ValueRulesPatch {
            churn_days: Some(90),
            currency_code: Some("USD".into()),
            ..ValueRulesPatch::default()
        };
        let next = patch.apply(&ValueRules::default());
        assert_eq!((next.churn_days, next.currency_code.as_str()), (90, "USD"));
        assert_eq!(next.recency_days, ValueRules::default().recency_days);
    }

    #[test]
    fn thresholds_are_four_ascending_values_in_range() {
        assert_eq!(check_thresholds(&[1, 2, 3, 4], 1, 10), Ok([1, 2, 3, 4]));
        assert_eq!(
            check_thresholds(&[1, 2, 3], 1, 10).unwrap_err(),
            "needs 4 values, not 3"
        );
        assert_eq!(
            check_thresholds(&[0, 2, 3, 4], 1, 10).unwrap_err(),
            "0 is not within 1..10"
        );
        assert_eq!(
            check_thresholds(&[1, 3, 3, 4], 1, 10).unwrap_err(),
            "must be strictly ascending"
        );
        assert_eq!(check_within(5, 1, 5), Ok(5));
        assert!(check_within(6, 1, 5).is_err());
    }
}
