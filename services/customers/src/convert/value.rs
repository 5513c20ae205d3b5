//! Customer value (CU12): the figures as the `value` of a Customer, and the tenant's value
//! rules as the settings carry them.

use rapport_kit::validate::is_currency;
use rapport_proto::customers as pb;
use rapport_proto::types as pt;
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use crate::domain::value::{
    CustomerValue, Grade, Group, ValueRules, ValueRulesPatch,
    rules::{MAX_AMOUNT, MAX_DAYS, MAX_ORDERS, check_thresholds, check_within},
};

/// The fields of ValueRules, in field order: what `value_rules.<field>` names in a mask.
pub const RULE_FIELDS: &[&str] = &[
    "currency_code",
    "recency_days",
    "frequency_orders",
    "monetary_minor_units",
    "vip_min_score",
    "high_profit_minor_units",
    "churn_days",
    "frequent_orders",
    "high_order_value_minor_units",
];

/// The proto of a customer's figures.
pub fn value_to_proto(v: &CustomerValue) -> pb::CustomerValue {
    let money = |minor_units| {
        Some(pt::Money {
            currency_code: v.currency_code.clone(),
            minor_units,
        })
    };
    pb::CustomerValue {
        order_count: v.order_count,
        total_spent: money(v.total_spent),
        average_order_value: money(v.average_order_value),
        last_order_time: Some(to_timestamp(v.last_order_time)),
        profit_contribution: money(v.profit_contribution),
        recency_score: v.scores.recency,
        frequency_score: v.scores.frequency,
        monetary_score: v.scores.monetary,
        grade: grade_to_proto(v.grade).into(),
        group: group_to_proto(v.group).into(),
        compute_time: Some(to_timestamp(v.compute_time)),
    }
}

/// The proto enum of a grade.
pub fn grade_to_proto(g: Grade) -> pb::ValueGrade {
    match g {
        Grade::Churned => pb::ValueGrade::Churned,
        Grade::NegativeAsset => pb::ValueGrade::NegativeAsset,
        Grade::Vip => pb::ValueGrade::Vip,
        Grade::HighProfit => pb::ValueGrade::HighProfit,
        Grade::Normal => pb::ValueGrade::Normal,
    }
}

/// The proto enum of a group.
pub fn group_to_proto(g: Group) -> pb::ValueGroup {
    match g {
        Group::A => pb::ValueGroup::A,
        Group::B => pb::ValueGroup::B,
        Group::C => pb::ValueGroup::C,
        Group::D => pb::ValueGroup::D,
        Group::E => pb::ValueGroup::E,
    }
}

/// The proto of the tenant's rules.
pub fn rules_to_proto(r: &ValueRules) -> pb::ValueRules {
    pb::ValueRules {
        currency_code: r.currency_code.clone(),
        recency_days: r.recency_days.to_vec(),
        frequency_orders: r.frequency_orders.to_vec(),
        monetary_minor_units: r.monetary_minor_units.to_vec(),
        vip_min_score: r.vip_min_score,
        high_profit_minor_units: r.high_profit_minor_units,
        churn_days: r.churn_days,
        frequent_orders: r.frequent_orders,
        high_order_value_minor_units: r.high_order_value_minor_units,
    }
}

/// The change of rules `msg` asks for in `fields` (of [`RULE_FIELDS`]), every bad one reported
/// relative to `v`'s prefix. A field left at zero or empty takes its default.
pub fn parse_rules(
    msg: Option<&pb::ValueRules>,
    fields: &[&str],
    v: &mut Violations,
) -> ValueRulesPatch {
    let m = msg.cloned().unwrap_or_default();
    let d = ValueRules::default();
    let mut p = ValueRulesPatch::default();
    for &f in fields {
        match f {
            "currency_code" => {
                p.currency_code = pick(
                    v,
                    f,
                    m.currency_code.clone(),
                    d.currency_code.clone(),
                    currency,
                )
            }
            "recency_days" => {
                p.recency_days = thresholds(v, f, &m.recency_days, d.recency_days, MAX_DAYS)
            }
            "frequency_orders" => {
                p.frequency_orders =
                    thresholds(v, f, &m.frequency_orders, d.frequency_orders, MAX_ORDERS)
            }
            "monetary_minor_units" => {
                p.monetary_minor_units = thresholds(
                    v,
                    f,
                    &m.monetary_minor_units,
                    d.monetary_minor_units,
                    MAX_AMOUNT,
                )
            }
            "vip_min_score" => {
                p.vip_min_score = within(v, f, m.vip_min_score, d.vip_min_score, 1, 5)
            }
            "high_profit_minor_units" => {
                p.high_profit_minor_units = within(
                    v,
                    f,
                    m.high_profit_minor_units,
                    d.high_profit_minor_units,
                    1,
                    MAX_AMOUNT,
                )
            }
            "churn_days" => p.churn_days = within(v, f, m.churn_days, d.churn_days, 1, MAX_DAYS),
            "frequent_orders" => {
                p.frequent_orders =
                    within(v, f, m.frequent_orders, d.frequent_orders, 2, MAX_ORDERS)
            }
            "high_order_value_minor_units" => {
                p.high_order_value_minor_units = within(
                    v,
                    f,
                    m.high_order_value_minor_units,
                    d.high_order_value_minor_units,
                    1,
                    MAX_AMOUNT,
                )
            }
            _ => {}
        }
    }
    p
}

fn currency(code: String) -> Result<String, String> {
    if is_currency(&code) {
        Ok(code)
    } else {
        Err(format!(
            "{code:?} is not an ISO 4217 code (three upper-case letters, e.g. \"CNY\")"
        ))
    }
}

/// Four ascending thresholds, each within `1..=max`, or the default when none are given.
fn thresholds<T>(
    v: &mut Violations,
    field: &str,
    given: &[T],
    default: [T; 4],
    max: T,
) -> Option<[T; 4]>
where
    T: Copy + Ord + std::fmt::Display + From<u8>,
{
    pick(v, field, given.to_vec(), default, |t| {
        check_thresholds(&t, T::from(1), max)
    })
}

/// A value within `min..=max`, or the default when zero.
fn within<T>(v: &mut Violations, field: &str, given: T, default: T, min: T, max: T) -> Option<T>
where
    T: Copy + Ord + std::fmt::Display + Default,
{
    pick(v, field, given, default, |n| check_within(n, min, max))
}

/// The default when `given` is the proto's zero value, else `given` once `check` accepts it
/// (what it refuses is reported on `field`).
fn pick<G: Default + PartialEq, T>(
    v: &mut Violations,
    field: &str,
    given: G,
    default: T,
    check: impl FnOnce(G) -> Result<T, String>,
) -> Option<T> {
    if given == G::default() {
        return Some(default);
    }
    check(given).map_err(|e| v.add(field, e)).ok()
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::DAY;

    use super::*;
    use crate::domain::value::rfm::Scores;

    fn fields(v: Violations) -> Vec<String> {
        v.into_vec()
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.description))
            .collect()
    }

    #[test]
    fn figures_become_a_proto_in_the_metrics_currency() {
        let v = CustomerValue {
            order_count: 3,
            currency_code: "CNY".into(),
            total_spent: 900,
            average_order_value: 300,
            last_order_time: 5 * DAY,
            profit_contribution: -20,
            scores: Scores {
                recency: 5,
                frequency: 2,
                monetary: 1,
            },
            grade: Grade::NegativeAsset,
            group: Group::B,
            compute_time: 6 * DAY,
            review_time: Some(7 * DAY),
        };
        let p = value_to_proto(&v);
        assert_eq!(p.order_count, 3);
        assert_eq!(p.total_spent.as_ref().map(|m| m.minor_units), Some(900));
        assert_eq!(
            p.profit_contribution
                .as_ref()
                .map(|m| m.currency_code.as_str()),
            Some("CNY")
        );
        assert_eq!(p.grade(), pb::ValueGrade::NegativeAsset);
        assert_eq!(p.group(), pb::ValueGroup::B);
        assert_eq!(p.last_order_time, Some(to_timestamp(5 * DAY)));
    }

    #[test]
    fn rules_round_trip_and_zero_means_the_default() {
        let custom = ValueRules {
            currency_code: "USD".into(),
            recency_days: [7, 14, 28, 56],
            churn_days: 60,
            ..ValueRules::default()
        };
        let mut v = Violations::new();
        let patch = parse_rules(Some(&rules_to_proto(&custom)), RULE_FIELDS, &mut v);
        assert!(v.is_empty());
        assert_eq!(patch.apply(&ValueRules::default()), custom);

        let mut v = Violations::new();
        let patch = parse_rules(None, RULE_FIELDS, &mut v);
        assert!(v.is_empty());
        assert_eq!(patch.apply(&custom), ValueRules::default());
    }

    #[test]
    fn only_named_fields_change() {
        let mut v = Violations::new();
        let msg = pb::ValueRules {
            churn_days: 30,
            vip_min_score: 9,
            ..Default::default()
        };
        let patch = parse_rules(Some(&msg), &["churn_days"], &mut v);
        assert!(v.is_empty());
        assert_eq!(
            patch,
            ValueRulesPatch {
                churn_days: Some(30),
                ..ValueRulesPatch::default()
            }
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let msg = pb::ValueRules {
            currency_code: "cny".into(),
            recency_days: vec![30, 20, 40, 50],
            frequency_orders: vec![1, 2, 3],
            monetary_minor_units: vec![-1, 2, 3, 4],
            vip_min_score: 6,
            high_profit_minor_units: -5,
            churn_days: 40_000,
            frequent_orders: 1,
            high_order_value_minor_units: -1,
        };
        let mut v = Violations::with_prefix("settings.value_rules");
        parse_rules(Some(&msg), RULE_FIELDS, &mut v);
        assert_eq!(
            fields(v),
            [
                "settings.value_rules.currency_code: \"cny\" is not an ISO 4217 code (three upper-case letters, e.g. \"CNY\")",
                "settings.value_rules.recency_days: must be strictly ascending",
                "settings.value_rules.frequency_orders: needs 4 values, not 3",
                "settings.value_rules.monetary_minor_units: -1 is not within 1..1000000000000000",
                "settings.value_rules.vip_min_score: 6 is not within 1..5",
                "settings.value_rules.high_profit_minor_units: -5 is not within 1..1000000000000000",
                "settings.value_rules.churn_days: 40000 is not within 1..36500",
                "settings.value_rules.frequent_orders: 1 is not within 2..1000000",
                "settings.value_rules.high_order_value_minor_units: -1 is not within 1..1000000000000000",
            ]
        );
    }
}
