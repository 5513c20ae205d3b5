//! A customer's ledger of orders: one entry per order, taken from the newest revision of the
//! order seen, whatever order its events arrive in.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

/// The states of an order, as the orders service has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    Draft,
    Confirmed,
    DeliveryScheduled,
    Delivered,
    Completed,
    Cancelled,
}

impl OrderState {
    /// Whether an order in this state counts towards its customer's value: from its
    /// confirmation on, until it is cancelled. A draft promises nothing yet.
    pub fn counts(self) -> bool {
        matches!(
            self,
            OrderState::Confirmed
                | OrderState::DeliveryScheduled
                | OrderState::Delivered
                | OrderState::Completed
        )
    }
}

/// An order as its customer's ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    /// The order's revision the entry was taken from; only a newer one replaces it.
    pub revision: i64,
    /// Whether the order counts (see [`OrderState::counts`]). An entry that no longer counts is
    /// kept, so that an older revision arriving late cannot bring the order back.
    pub counted: bool,
    /// ISO 4217 code of the amounts.
    pub currency_code: String,
    /// What the customer spent on it: total less refunds.
    pub net_total: i64,
    /// What it earned (see [`profit_contribution`]).
    pub profit: i64,
    /// When it was confirmed.
    pub confirm_time: Micros,
}

/// The money of one order line, in the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFigures {
    /// What the line sold for: unit price × quantity less the line's discount.
    pub amount: i64,
    /// The unit cost when the line was added.
    pub unit_cost: i64,
    pub quantity: i64,
}

/// What an order earned: over its lines, the amount less the unit cost times the quantity,
/// then less the order's own discount and what was refunded. Saturates rather than wrapping.
pub fn profit_contribution(lines: &[LineFigures], order_discount: i64, refunded: i64) -> i64 {
    let margin: i128 = lines
        .iter()
        .map(|l| i128::from(l.amount) - i128::from(l.unit_cost) * i128::from(l.quantity))
        .sum();
    saturate(margin - i128::from(order_discount) - i128::from(refunded))
}

/// `n` as an i64, at the nearest end when it does not fit.
pub(super) fn saturate(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_orders_count_until_cancelled() {
        use OrderState::*;
        for s in [Confirmed, DeliveryScheduled, Delivered, Completed] {
            assert!(s.counts(), "{s:?}");
        }
        for s in [Draft, Cancelled] {
            assert!(!s.counts(), "{s:?}");
        }
    }

    #[test]
    fn profit_is_the_margin_of_the_lines_less_order_discount_and_refunds() {
        let lines = [
            // 2 sofas at 8,999.00 less 500.00, cost 5,000.00 each.
            LineFigures {
                amount: 2 * 899_900 - 50_000,
                unit_cost: 500_000,
                quantity: 2,
            },
            // A lamp at 300.00, cost 100.00.
            LineFigures {
                amount: 30_000,
                unit_cost: 10_000,
                quantity: 1,
            },
        ];
        assert_eq!(
            profit_contribution(&lines, 10_000, 0),
            (1_749_800 - 1_000_000) + 20_000 - 10_000
        );
        // A refund comes off what the order earned, and may turn it into a loss.
        assert_eq!(profit_contribution(&lines, 0, 900_000), -130_200);
        assert_eq!(profit_contribution(&[], 0, 0), 0);
    }

    #[test]
    fn profit_saturates() {
        let huge = LineFigures {
            amount: i64::MAX,
            unit_cost: 0,
            quantity: 1,
        };
        assert_eq!(profit_contribution(&[huge, huge], 0, 0), i64::MAX);
        let costly = LineFigures {
            amount: 0,
            unit_cost: i64::MAX,
            quantity: 10,
        };
        assert_eq!(profit_contribution(&[costly], 0, 0), i64::MIN);
    }
}
