//! The orders service's orders, as a customer's ledger takes them (CU12).

use rapport_proto::orders as opb;
use rapport_proto::types as pt;
use rapport_runtime::clock::from_timestamp;

use crate::domain::{
    names,
    value::{LedgerEntry, LineFigures, OrderState, ledger::profit_contribution},
};

/// The ledger entry of the order an orders event carries; `None` when the event carries no
/// order this service can read (no order, a name that does not parse, no known state).
pub fn ledger_entry(changed: &opb::OrderChanged) -> Option<LedgerEntry> {
    let order = changed.order.as_ref()?;
    let order_id = rapport_kit::names::parse_id("orders", &order.name).ok()?;
    let customer_id = names::parse_customer_name(&order.customer).ok()?;
    let state = order_state(order.state())?;
    let lines: Vec<LineFigures> = order
        .lines
        .iter()
        .map(|l| LineFigures {
            amount: units(&l.amount),
            unit_cost: units(&l.unit_cost),
            quantity: i64::from(l.quantity),
        })
        .collect();
    // A confirmed order has its confirmation time; older payloads fall back on the change.
    let confirm_time = [&order.confirm_time, &order.update_time, &order.create_time]
        .into_iter()
        .find_map(|t| t.as_ref().and_then(from_timestamp))
        .unwrap_or_default();
    Some(LedgerEntry {
        order_id,
        customer_id,
        revision: order.revision,
        counted: state.counts(),
        currency_code: order.currency_code.clone(),
        net_total: units(&order.net_total),
        profit: profit_contribution(&lines, units(&order.order_discount), units(&order.refunded)),
        confirm_time,
    })
}

/// The domain state of an order; `None` when not set.
fn order_state(s: opb::OrderState) -> Option<OrderState> {
    use opb::OrderState as P;
    Some(match s {
        P::Unspecified => return None,
        P::Draft => OrderState::Draft,
        P::Confirmed => OrderState::Confirmed,
        P::DeliveryScheduled => OrderState::DeliveryScheduled,
        P::Delivered => OrderState::Delivered,
        P::Completed => OrderState::Completed,
        P::Cancelled => OrderState::Cancelled,
    })
}

/// The minor units of an amount; zero when absent.
fn units(m: &Option<pt::Money>) -> i64 {
    m.as_ref().map_or(0, |m| m.minor_units)
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::to_timestamp;
    use uuid::Uuid;

    use super::*;

    fn money(minor_units: i64) -> Option<pt::Money> {
        Some(pt::Money {
            currency_code: "CNY".into(),
            minor_units,
        })
    }

    fn confirmed(order: Uuid, customer: Uuid) -> opb::Order {
        opb::Order {
            name: format!("orders/{order}"),
            customer: format!("customers/{customer}"),
            currency_code: "CNY".into(),
            state: opb::OrderState::Confirmed.into(),
            lines: vec![opb::LineItem {
                quantity: 2,
                unit_price: money(899_900),
                unit_cost: money(500_000),
                discount: money(50_000),
                amount: money(1_749_800),
                ..Default::default()
            }],
            order_discount: money(10_000),
            total: money(1_739_800),
            refunded: money(100_000),
            net_total: money(1_639_800),
            revision: 4,
            confirm_time: Some(to_timestamp(7_000_000)),
            update_time: Some(to_timestamp(9_000_000)),
            ..Default::default()
        }
    }

    #[test]
    fn a_confirmed_order_becomes_a_counted_entry() {
        let (order, customer) = (Uuid::now_v7(), Uuid::now_v7());
        let e = ledger_entry(&opb::OrderChanged {
            order: Some(confirmed(order, customer)),
            revision: None,
        })
        .expect("an entry");
        assert_eq!((e.order_id, e.customer_id), (order, customer));
        assert_eq!((e.revision, e.counted), (4, true));
        assert_eq!((e.currency_code.as_str(), e.net_total), ("CNY", 1_639_800));
        assert_eq!(e.profit, 1_749_800 - 1_000_000 - 10_000 - 100_000);
        assert_eq!(e.confirm_time, 7_000_000);
    }

    #[test]
    fn cancelled_and_draft_orders_do_not_count() {
        for state in [opb::OrderState::Cancelled, opb::OrderState::Draft] {
            let mut o = confirmed(Uuid::now_v7(), Uuid::now_v7());
            o.state = state.into();
            o.confirm_time = None;
            let e = ledger_entry(&opb::OrderChanged {
                order: Some(o),
                revision: None,
            })
            .expect("an entry");
            assert!(!e.counted, "{state:?}");
            assert_eq!(e.confirm_time, 9_000_000);
        }
    }

    #[test]
    fn unreadable_orders_are_none() {
        assert_eq!(ledger_entry(&opb::OrderChanged::default()), None);
        let mut o = confirmed(Uuid::now_v7(), Uuid::now_v7());
        o.customer = "leads/x".into();
        let changed = opb::OrderChanged {
            order: Some(o),
            revision: None,
        };
        assert_eq!(ledger_entry(&changed), None);
        let mut o = confirmed(Uuid::now_v7(), Uuid::now_v7());
        o.state = 0;
        let changed = opb::OrderChanged {
            order: Some(o),
            revision: None,
        };
        assert_eq!(ledger_entry(&changed), None);
    }
}
