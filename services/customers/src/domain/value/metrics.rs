//! A customer's value figures, worked out from its ledger alone, so any replica, an event or
//! the sweep gets the same answer from the same orders, rules and time.

use rapport_runtime::clock::Micros;

use super::{
    grade::{self, Grade, Group},
    ledger::{LedgerEntry, saturate},
    rfm::{self, Scores},
    rules::ValueRules,
};

/// What a customer's confirmed orders are worth, at `compute_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerValue {
    /// Confirmed orders, in any currency.
    pub order_count: i64,
    /// The currency of the money figures (the tenant's, when they were worked out).
    pub currency_code: String,
    /// Net totals of the orders in `currency_code`.
    pub total_spent: i64,
    /// `total_spent` over those orders, rounded half up; 0 without any.
    pub average_order_value: i64,
    /// When the latest order was confirmed.
    pub last_order_time: Micros,
    /// What the orders in `currency_code` earned.
    pub profit_contribution: i64,
    pub scores: Scores,
    pub grade: Grade,
    pub group: Group,
    pub compute_time: Micros,
    /// When the passing of time next changes the recency score or the grade; `None` once
    /// nothing will. The figures must be worked out again then.
    pub review_time: Option<Micros>,
}

/// The value of a customer with the ledger `entries` (those that no longer count are skipped)
/// under `rules` at `now`; `None` without a counted order.
pub fn evaluate(entries: &[LedgerEntry], rules: &ValueRules, now: Micros) -> Option<CustomerValue> {
    let counted: Vec<&LedgerEntry> = entries.iter().filter(|e| e.counted).collect();
    let last_order_time = counted.iter().map(|e| e.confirm_time).max()?;
    let order_count = counted.len() as i64;
    let (mut spent, mut profit, mut in_currency) = (0i128, 0i128, 0i64);
    for e in counted
        .iter()
        .filter(|e| e.currency_code == rules.currency_code)
    {
        spent += i128::from(e.net_total);
        profit += i128::from(e.profit);
        in_currency += 1;
    }
    let total_spent = saturate(spent);
    let profit_contribution = saturate(profit);
    let average_order_value = average(spent, in_currency);
    let scores = Scores {
        recency: rfm::recency_score(last_order_time, now, &rules.recency_days),
        frequency: rfm::reached_score(order_count, &rules.frequency_orders),
        monetary: rfm::reached_score(total_spent, &rules.monetary_minor_units),
    };
    Some(CustomerValue {
        order_count,
        currency_code: rules.currency_code.clone(),
        total_spent,
        average_order_value,
        last_order_time,
        profit_contribution,
        scores,
        grade: grade::grade(last_order_time, now, scores, profit_contribution, rules),
        group: grade::group(order_count, average_order_value, rules),
        compute_time: now,
        review_time: rfm::next_change(
            last_order_time,
            now,
            &rules.recency_days,
            &[rules.churn_days],
        ),
    })
}

/// `total / n` rounded half away from zero (half up for what customers spend); 0 when `n` is.
fn average(total: i128, n: i64) -> i64 {
    if n == 0 {
        return 0;
    }
    let n = i128::from(n);
    let (q, r) = (total / n, total % n);
    saturate(if 2 * r.abs() >= n {
        q + total.signum()
    } else {
        q
    })
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::DAY;
    use uuid::Uuid;

    use super::*;

    const NOW: Micros = 20_000 * DAY;

    fn entry(currency: &str, net_total: i64, profit: i64, days_ago: i64) -> LedgerEntry {
        LedgerEntry {
            order_id: Uuid::now_v7(),
            customer_id: Uuid::nil(),
            revision: 1,
            counted: true,
            currency_code: currency.into(),
            net_total,
            profit,
            confirm_time: NOW - days_ago * DAY,
        }
    }

    #[test]
    fn no_counted_order_is_no_value() {
        let rules = ValueRules::default();
        assert_eq!(evaluate(&[], &rules, NOW), None);
        let cancelled = LedgerEntry {
            counted: false,
            ..entry("CNY", 100, 10, 1)
        };
        assert_eq!(evaluate(&[cancelled], &rules, NOW), None);
    }

    #[test]
    fn one_order() {
        let v = evaluate(
            &[entry("CNY", 899_900, 399_900, 2)],
            &ValueRules::default(),
            NOW,
        )
        .expect("a value");
        assert_eq!(v.order_count, 1);
        assert_eq!((v.total_spent, v.average_order_value), (899_900, 899_900));
        assert_eq!(v.profit_contribution, 399_900);
        assert_eq!(v.last_order_time, NOW - 2 * DAY);
        assert_eq!(
            v.scores,
            Scores {
                recency: 5,
                frequency: 1,
                monetary: 3
            }
        );
        assert_eq!((v.grade, v.group), (Grade::Normal, Group::C));
        assert_eq!(v.compute_time, NOW);
        assert_eq!(v.review_time, Some(NOW - 2 * DAY + 30 * DAY + 1));
    }

    #[test]
    fn other_currencies_count_in_orders_and_recency_only() {
        let rules = ValueRules::default();
        let v = evaluate(
            &[
                entry("CNY", 100_001, 50_000, 40),
                entry("CNY", 100_000, 50_000, 50),
                entry("USD", 9_999_999, 9_999_999, 1),
            ],
            &rules,
            NOW,
        )
        .expect("a value");
        assert_eq!(v.order_count, 3);
        assert_eq!(v.total_spent, 200_001);
        // 100,000.5 rounds up.
        assert_eq!(v.average_order_value, 100_001);
        assert_eq!(v.profit_contribution, 100_000);
        assert_eq!(v.last_order_time, NOW - DAY);
        assert_eq!(v.scores.recency, 5);
        assert_eq!(v.group, Group::B);
        // Only USD orders: counted, but no money in the metrics currency.
        let v = evaluate(&[entry("USD", 500, 500, 1)], &rules, NOW).expect("a value");
        assert_eq!((v.total_spent, v.average_order_value), (0, 0));
        assert_eq!((v.scores.monetary, v.group), (1, Group::E));
    }

    #[test]
    fn many_big_orders_make_a_vip_and_a_loss_a_negative_asset() {
        let rules = ValueRules::default();
        let big: Vec<LedgerEntry> = (0..4).map(|i| entry("CNY", 600_000, 200_000, i)).collect();
        let v = evaluate(&big, &rules, NOW).expect("a value");
        assert_eq!((v.scores.frequency, v.scores.monetary), (4, 4));
        assert_eq!((v.grade, v.group), (Grade::Vip, Group::A));
        let mut losing = big.clone();
        losing.push(entry("CNY", 0, -900_000, 0));
        assert_eq!(
            evaluate(&losing, &rules, NOW).expect("a value").grade,
            Grade::NegativeAsset
        );
    }

    #[test]
    fn time_churns_a_customer_and_then_nothing_changes() {
        let rules = ValueRules::default();
        let orders = [entry("CNY", 100, 10, 0)];
        let later = NOW + 366 * DAY;
        let v = evaluate(&orders, &rules, later).expect("a value");
        assert_eq!((v.grade, v.scores.recency), (Grade::Churned, 1));
        assert_eq!(v.review_time, None);
    }

    #[test]
    fn averages_round_half_away_from_zero() {
        assert_eq!(average(5, 2), 3);
        assert_eq!(average(4, 3), 1);
        assert_eq!(average(-5, 2), -3);
        assert_eq!(average(7, 0), 0);
    }
}
