//! The value grade and the frequency × order-value group of a customer.

use rapport_runtime::clock::{DAY, Micros};

use super::{rfm::Scores, rules::ValueRules};

/// The value grade. [`grade`] tries the rules in the order of the variants and the first that
/// holds wins: an inactive customer is one to win back whatever it once spent, and one that
/// loses money is never treated as a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// The last order is more than the tenant's `churn_days` old.
    Churned,
    /// The profit contribution is below zero.
    NegativeAsset,
    /// The monetary and frequency scores both reach the tenant's `vip_min_score`.
    Vip,
    /// The profit contribution reaches the tenant's `high_profit_minor_units`.
    HighProfit,
    /// None of the above.
    Normal,
}

impl Grade {
    /// As stored and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Churned => "churned",
            Grade::NegativeAsset => "negative_asset",
            Grade::Vip => "vip",
            Grade::HighProfit => "high_profit",
            Grade::Normal => "normal",
        }
    }

    /// The grade stored as `s`.
    pub fn parse(s: &str) -> Option<Grade> {
        GRADES.iter().copied().find(|g| g.as_str() == s)
    }
}

/// Every grade, as filters name them.
pub const GRADE_NAMES: &[&str] = &["churned", "negative_asset", "vip", "high_profit", "normal"];

const GRADES: [Grade; 5] = [
    Grade::Churned,
    Grade::NegativeAsset,
    Grade::Vip,
    Grade::HighProfit,
    Grade::Normal,
];

/// The grade of a customer whose last order was at `last`, with `scores` and `profit`, at
/// `now`.
pub fn grade(last: Micros, now: Micros, scores: Scores, profit: i64, rules: &ValueRules) -> Grade {
    if now.saturating_sub(last) > i64::from(rules.churn_days).saturating_mul(DAY) {
        Grade::Churned
    } else if profit < 0 {
        Grade::NegativeAsset
    } else if scores.monetary >= rules.vip_min_score && scores.frequency >= rules.vip_min_score {
        Grade::Vip
    } else if profit >= rules.high_profit_minor_units {
        Grade::HighProfit
    } else {
        Grade::Normal
    }
}

/// The group by order frequency and average order value (AOV). Frequent: at least the
/// tenant's `frequent_orders` orders; high value: an AOV of at least its
/// `high_order_value_minor_units`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Frequent, high value.
    A,
    /// Frequent, low value.
    B,
    /// Not frequent, high value.
    C,
    /// Not frequent but more than one order, low value.
    D,
    /// A single order, low value.
    E,
}

impl Group {
    /// As stored and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::A => "A",
            Group::B => "B",
            Group::C => "C",
            Group::D => "D",
            Group::E => "E",
        }
    }

    /// The group stored as `s`.
    pub fn parse(s: &str) -> Option<Group> {
        [Group::A, Group::B, Group::C, Group::D, Group::E]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
}

/// Every group, as filters name them.
pub const GROUP_NAMES: &[&str] = &["A", "B", "C", "D", "E"];

/// The group of a customer with `orders` orders and an average order value of `aov`.
pub fn group(orders: i64, aov: i64, rules: &ValueRules) -> Group {
    let frequent = orders >= rules.frequent_orders;
    let high = aov >= rules.high_order_value_minor_units;
    match (frequent, high) {
        (true, true) => Group::A,
        (true, false) => Group::B,
        (false, true) => Group::C,
        (false, false) if orders > 1 => Group::D,
        (false, false) => Group::E,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Micros = 10_000 * DAY;

    fn scores(frequency: i32, monetary: i32) -> Scores {
        Scores {
            recency: 5,
            frequency,
            monetary,
        }
    }

    #[test]
    fn the_first_rule_that_holds_is_the_grade() {
        let r = ValueRules::default();
        let recent = NOW - DAY;
        let long_ago = NOW - 366 * DAY;
        // Churned wins over everything, even a loss or VIP scores.
        assert_eq!(grade(long_ago, NOW, scores(5, 5), -1, &r), Grade::Churned);
        assert_eq!(
            grade(NOW - 365 * DAY, NOW, scores(1, 1), 0, &r),
            Grade::Normal
        );
        // A loss wins over VIP scores and any profit threshold.
        assert_eq!(
            grade(recent, NOW, scores(5, 5), -1, &r),
            Grade::NegativeAsset
        );
        assert_eq!(grade(recent, NOW, scores(4, 4), 0, &r), Grade::Vip);
        assert_eq!(
            grade(recent, NOW, scores(5, 3), 5_000_000, &r),
            Grade::HighProfit
        );
        assert_eq!(grade(recent, NOW, scores(3, 5), 999_999, &r), Grade::Normal);
        assert_eq!(
            grade(recent, NOW, scores(3, 5), 1_000_000, &r),
            Grade::HighProfit
        );
    }

    #[test]
    fn thresholds_move_grades() {
        let strict = ValueRules {
            vip_min_score: 5,
            high_profit_minor_units: 10_000_000,
            churn_days: 30,
            ..ValueRules::default()
        };
        assert_eq!(
            grade(NOW - DAY, NOW, scores(4, 4), 1_000_000, &strict),
            Grade::Normal
        );
        assert_eq!(
            grade(NOW - 31 * DAY, NOW, scores(4, 4), 0, &strict),
            Grade::Churned
        );
    }

    #[test]
    fn groups_cross_frequency_with_order_value() {
        let r = ValueRules::default();
        assert_eq!(group(3, 500_000, &r), Group::A);
        assert_eq!(group(7, 499_999, &r), Group::B);
        assert_eq!(group(2, 500_000, &r), Group::C);
        assert_eq!(group(1, 900_000, &r), Group::C);
        assert_eq!(group(2, 100, &r), Group::D);
        assert_eq!(group(1, 100, &r), Group::E);
    }

    #[test]
    fn names_read_back() {
        for g in GRADES {
            assert_eq!(Grade::parse(g.as_str()), Some(g));
            assert!(GRADE_NAMES.contains(&g.as_str()));
        }
        for name in GROUP_NAMES {
            assert_eq!(Group::parse(name).map(Group::as_str), Some(*name));
        }
        assert_eq!(Grade::parse("VIP"), None);
        assert_eq!(Group::parse("F"), None);
    }
}
