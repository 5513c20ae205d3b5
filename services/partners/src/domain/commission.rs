//! Commissions (PA4): what each order line is worth to its partner, the lines that record the
//! difference whenever that changes, volume rebates, and the month a statement covers.
//!
//! An order line's commission is `basis × rate / 10000`, rounded down, where the basis is the
//! line's value after its discount, its share of the order discount and its returned units,
//! and the rate is the partner's tier's rate for the line's category when the line first
//! accrued (a later tier change does not rewrite past sales). Nothing is ever edited: the
//! ledger grows by the difference between what a line is worth now and what it was credited.

use rapport_runtime::clock::Micros;
use std::collections::BTreeMap;

use super::tier::Benefits;

/// Basis points in one.
const BPS: i128 = 10_000;

/// An order line as commissions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub id: String,
    /// The category's id; empty when the product had none.
    pub category: String,
    /// unit price × quantity − the line's discount.
    pub amount: i64,
    pub quantity: i64,
    /// Units named by returns not rejected.
    pub returned: i64,
}

/// An order as commissions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub currency: String,
    /// Confirmed and not cancelled: its lines earn commission.
    pub counted: bool,
    /// When it was completed, if it was.
    pub completed_time: Option<Micros>,
    /// The sum of the lines' amounts.
    pub subtotal: i64,
    /// The discount on the whole order.
    pub order_discount: i64,
    pub lines: Vec<OrderLine>,
}

/// What `line` of `order` is worth to commissions now.
pub fn basis(order: &Order, line: &OrderLine) -> i64 {
    if !order.counted || line.quantity <= 0 || line.amount <= 0 {
        return 0;
    }
    let amount = i128::from(line.amount);
    let share = if order.subtotal > 0 {
        i128::from(order.order_discount) * amount / i128::from(order.subtotal)
    } else {
        0
    };
    let kept = i128::from((line.quantity - line.returned).clamp(0, line.quantity));
    let value = (amount - share).max(0) * kept / i128::from(line.quantity);
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The commission on `basis` at `bps`, rounded toward zero.
pub fn commission(basis: i64, bps: i32) -> i64 {
    i64::try_from(i128::from(basis) * i128::from(bps) / BPS).unwrap_or(i64::MAX)
}

/// The rate `benefits` give a line of `category`: its category's rate, else the default.
pub fn rate(benefits: &Benefits, category: &str) -> i32 {
    benefits
        .commission_rates
        .iter()
        .find(|r| r.category == category)
        .map_or(benefits.default_commission_bps, |r| r.bps)
}

/// What an order line was credited so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accrual {
    pub order_id: String,
    pub line_id: String,
    pub partner_id: String,
    pub category: String,
    pub currency: String,
    pub rate_bps: i32,
    pub basis: i64,
    pub amount: i64,
}

/// A change of what an order line is worth: the line to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub partner_id: String,
    pub order_id: String,
    pub line_id: String,
    pub category: String,
    pub currency: String,
    pub rate_bps: i32,
    /// The change of the basis.
    pub basis: i64,
    /// The change of the commission.
    pub amount: i64,
}

/// The deltas that bring `before` (what each line of the order was credited, to whichever
/// partner) to what `order` is worth now for `partner` at `rate_of` (a category's rate for a
/// line not credited before); and the accruals after. A line credited to another partner is
/// taken back from it in full and credited afresh.
pub fn reconcile(
    before: &[Accrual],
    order: &Order,
    partner: &str,
    rate_of: impl Fn(&str) -> i32,
) -> (Vec<Delta>, Vec<Accrual>) {
    let mut deltas = Vec::new();
    let mut after = Vec::new();
    let mut change = |a: &Accrual, basis: i64, amount: i64| {
        if amount != 0 || basis != 0 {
            deltas.push(Delta {
                partner_id: a.partner_id.clone(),
                order_id: a.order_id.clone(),
                line_id: a.line_id.clone(),
                category: a.category.clone(),
                currency: a.currency.clone(),
                rate_bps: a.rate_bps,
                basis,
                amount,
            });
        }
    };
    let by_line: BTreeMap<&str, &Accrual> =
        before.iter().map(|a| (a.line_id.as_str(), a)).collect();
    for line in &order.lines {
        let now = if partner.is_empty() {
            0
        } else {
            basis(order, line)
        };
        let fresh = |rate_bps: i32| Accrual {
            order_id: order.id.clone(),
            line_id: line.id.clone(),
            partner_id: partner.to_owned(),
            category: line.category.clone(),
            currency: order.currency.clone(),
            rate_bps,
            basis: 0,
            amount: 0,
        };
        let mut acc = match by_line.get(line.id.as_str()) {
            Some(prev) if prev.partner_id == partner || partner.is_empty() => (*prev).clone(),
            Some(prev) => {
                change(prev, -prev.basis, -prev.amount);
                fresh(rate_of(&line.category))
            }
            None => fresh(rate_of(&line.category)),
        };
        let amount = commission(now, acc.rate_bps);
        change(&acc, now - acc.basis, amount - acc.amount);
        acc.basis = now;
        acc.amount = amount;
        after.push(acc);
    }
    // Lines the order no longer has are worth nothing now.
    for prev in before {
        if !order.lines.iter().any(|l| l.id == prev.line_id) {
            change(prev, -prev.basis, -prev.amount);
            after.push(Accrual {
                basis: 0,
                amount: 0,
                ..prev.clone()
            });
        }
    }
    (deltas, after)
}

/// A volume-rebate bracket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bracket {
    pub currency: String,
    pub min_sales: i64,
    pub bps: i32,
}

/// The rebate on a month's `volume` (net basis per currency): the highest bracket reached in
/// each currency, as (currency, volume, bps, amount).
pub fn rebates(
    brackets: &[Bracket],
    volume: &BTreeMap<String, i64>,
) -> Vec<(String, i64, i32, i64)> {
    let mut out = Vec::new();
    for (currency, sales) in volume {
        let best = brackets
            .iter()
            .filter(|b| b.currency == *currency && *sales >= b.min_sales && *sales > 0)
            .max_by_key(|b| b.min_sales);
        if let Some(b) = best {
            let amount = commission(*sales, b.bps);
            if amount > 0 {
                out.push((currency.clone(), *sales, b.bps, amount));
            }
        }
    }
    out
}

/// The calendar month (UTC) holding `t`, as "YYYY-MM", and its start and end.
pub fn month_of(t: Micros) -> (String, Micros, Micros) {
    let secs = t.div_euclid(1_000_000);
    let dt =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, m) = (dt.year(), dt.month());
    let start = time::Date::from_calendar_date(y, m, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1_000_000)
        .unwrap_or(0);
    let (ny, nm) = if m == time::Month::December {
        (y + 1, time::Month::January)
    } else {
        (y, m.next())
    };
    let end = time::Date::from_calendar_date(ny, nm, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1_000_000)
        .unwrap_or(start);
    (format!("{y:04}-{:02}", u8::from(m)), start, end)
}

/// The month before the one holding `t`: the latest whose statements are due.
pub fn last_month(t: Micros) -> (String, Micros, Micros) {
    let (_, start, _) = month_of(t);
    month_of(start - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tier::CategoryRate;

    fn order(lines: Vec<OrderLine>, discount: i64) -> Order {
        Order {
            id: "o1".into(),
            currency: "CNY".into(),
            counted: true,
            completed_time: None,
            subtotal: lines.iter().map(|l| l.amount).sum(),
            order_discount: discount,
            lines,
        }
    }

    fn line(id: &str, category: &str, amount: i64, quantity: i64, returned: i64) -> OrderLine {
        OrderLine {
            id: id.into(),
            category: category.into(),
            amount,
            quantity,
            returned,
        }
    }

    #[test]
    fn the_basis_takes_the_order_discount_share_and_returned_units_off() {
        let o = order(
            vec![line("a", "c1", 800, 2, 1), line("b", "c2", 200, 1, 0)],
            100,
        );
        // a: (800 − 80) × 1/2; b: 200 − 20.
        assert_eq!(basis(&o, &o.lines[0]), 360);
        assert_eq!(basis(&o, &o.lines[1]), 180);
        let mut cancelled = o.clone();
        cancelled.counted = false;
        assert_eq!(basis(&cancelled, &cancelled.lines[0]), 0);
        assert_eq!(commission(899_900, 500), 44_995);
        assert_eq!(commission(-899_900, 500), -44_995);
    }

    #[test]
    fn rates_come_by_category_then_the_default() {
        let b = Benefits {
            commission_rates: vec![CategoryRate {
                category: "c1".into(),
                bps: 800,
            }],
            default_commission_bps: 300,
            lead_weight: 1,
        };
        assert_eq!(rate(&b, "c1"), 800);
        assert_eq!(rate(&b, "c2"), 300);
    }

    #[test]
    fn reconciling_records_only_the_difference_at_the_first_rate() {
        let o = order(vec![line("a", "c1", 1000, 2, 0)], 0);
        let (d, after) = reconcile(&[], &o, "p1", |_| 500);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].basis, d[0].amount, d[0].rate_bps), (1000, 50, 500));
        // The same order again: nothing to record.
        let (none, same) = reconcile(&after, &o, "p1", |_| 900);
        assert!(none.is_empty());
        assert_eq!(same, after);
        // One unit returned: half is taken back, at the first rate.
        let returned = order(vec![line("a", "c1", 1000, 2, 1)], 0);
        let (back, after) = reconcile(&after, &returned, "p1", |_| 900);
        assert_eq!(
            (back[0].basis, back[0].amount, back[0].rate_bps),
            (-500, -25, 500)
        );
        // Cancelled: the rest goes.
        let mut cancelled = returned.clone();
        cancelled.counted = false;
        let (gone, after) = reconcile(&after, &cancelled, "p1", |_| 500);
        assert_eq!(gone[0].amount, -25);
        assert_eq!(after[0].amount, 0);
    }

    #[test]
    fn a_line_removed_or_moved_to_another_partner_is_taken_back() {
        let o = order(
            vec![line("a", "c1", 1000, 1, 0), line("b", "c1", 400, 1, 0)],
            0,
        );
        let (_, after) = reconcile(&[], &o, "p1", |_| 1000);
        let fewer = order(vec![line("a", "c1", 1000, 1, 0)], 0);
        let (d, after) = reconcile(&after, &fewer, "p1", |_| 1000);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line_id.as_str(), d[0].amount), ("b", -40));
        let (moved, _) = reconcile(&after, &fewer, "p2", |_| 200);
        let summary: Vec<(&str, &str, i64)> = moved
            .iter()
            .map(|d| (d.partner_id.as_str(), d.line_id.as_str(), d.amount))
            .collect();
        assert_eq!(summary, [("p1", "a", -100), ("p2", "a", 20)]);
    }

    #[test]
    fn the_highest_bracket_reached_gives_the_rebate() {
        let brackets = vec![
            Bracket {
                currency: "CNY".into(),
                min_sales: 1_000,
                bps: 100,
            },
            Bracket {
                currency: "CNY".into(),
                min_sales: 5_000,
                bps: 200,
            },
        ];
        let volume = BTreeMap::from([("CNY".to_owned(), 6_000), ("USD".to_owned(), 9_999)]);
        assert_eq!(
            rebates(&brackets, &volume),
            [("CNY".to_owned(), 6_000, 200, 120)]
        );
        let small = BTreeMap::from([("CNY".to_owned(), 999)]);
        assert!(rebates(&brackets, &small).is_empty());
    }

    #[test]
    fn months_are_calendar_months_in_utc() {
        // 2026-03-15T12:00:00Z
        let t = 1_773_576_000_000_000;
        let (m, start, end) = month_of(t);
        assert_eq!(m, "2026-03");
        assert_eq!(start, 1_772_323_200_000_000);
        assert_eq!(end, 1_775_001_600_000_000);
        assert_eq!(last_month(t).0, "2026-02");
        assert_eq!(last_month(1_767_225_600_000_000).0, "2025-12");
    }
}
