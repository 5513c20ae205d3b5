//! Coupons: parsing issues and redemptions, every bad field at once, and building answers and
//! event payloads.

use prost::UnknownEnumValue;
use rapport_kit::{
    enums::{read, write},
    names, validate,
};
use rapport_proto::{campaigns as pb, types as pt};
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};
use uuid::Uuid;

use crate::domain::{
    campaign::CAMPAIGNS,
    coupon::{
        self, Coupon, MAX_BASIS_POINTS, MAX_COUNT, MAX_CUSTOMERS, Order, State, Terms, Value,
    },
};

const STATES: [(pb::CouponState, State); 3] = [
    (pb::CouponState::Issued, State::Issued),
    (pb::CouponState::Redeemed, State::Redeemed),
    (pb::CouponState::Expired, State::Expired),
];

/// A coupon state from its proto number.
pub fn coupon_state(raw: i32) -> Result<Option<State>, UnknownEnumValue> {
    read(&STATES, raw)
}

/// What IssueCoupons asks for, parsed.
pub struct Issue {
    pub campaign_id: Uuid,
    /// Unbound coupons to issue; 0 when customers are named.
    pub count: usize,
    /// The customers to bind one coupon each to, in the order named, each once.
    pub customers: Vec<Uuid>,
    /// The terms; `issued_by` is the caller's to fill in.
    pub terms: Terms,
}

/// An amount that must be more than zero, or none when absent.
fn positive(v: &mut Violations, field: &str, m: Option<&pt::Money>) -> Option<validate::Money> {
    let m = validate::money(v, field, m)?;
    if m.minor_units == 0 {
        v.add(format!("{field}.minor_units"), "must be more than zero");
    }
    Some(m)
}

/// Parses an IssueCoupons request at `now`, reporting every bad field.
pub fn parse_issue(msg: &pb::IssueCouponsRequest, now: Micros, v: &mut Violations) -> Issue {
    let campaign_id = validate::id_in(CAMPAIGNS, &msg.parent, "parent", v).unwrap_or_default();
    let strategy = validate::optional_id_in("strategies", &msg.strategy, "strategy", v)
        .map(|id| names::format_id("strategies", id))
        .unwrap_or_default();
    let count = match (msg.count, msg.customers.is_empty()) {
        (0, true) => {
            v.add(
                "count",
                format!("is required: 1..{MAX_COUNT}, or name customers instead"),
            );
            0
        }
        (0, false) => 0,
        (_, false) => {
            v.add("count", "give count or customers, not both");
            0
        }
        (n, true) if !(1..=MAX_COUNT).contains(&n) => {
            v.add("count", format!("must be 1..{MAX_COUNT}, got {n}"));
            0
        }
        (n, true) => usize::try_from(n).unwrap_or_default(),
    };
    let mut customers = Vec::new();
    let named = validate::capped(v, "customers", &msg.customers, MAX_CUSTOMERS);
    for (i, name) in named.iter().enumerate() {
        if let Some(id) = validate::id_in("customers", name, &format!("customers[{i}]"), v) {
            customers.push(id);
        }
    }
    let amount_off = positive(v, "amount_off", msg.amount_off.as_ref());
    let bps = msg.percent_off_basis_points;
    let value = match (amount_off.as_ref(), bps) {
        (Some(_), b) if b != 0 => {
            v.add(
                "percent_off_basis_points",
                "give amount_off or percent_off_basis_points, not both",
            );
            None
        }
        (Some(m), _) => Some(Value::AmountOff(m.minor_units)),
        (None, 0)
            if msg
                .amount_off
                .as_ref()
                .is_none_or(|a| *a == Default::default()) =>
        {
            v.add(
                "amount_off",
                "is required: an amount off, or give percent_off_basis_points",
            );
            None
        }
        (None, 0) => None,
        (None, b) if !(1..=MAX_BASIS_POINTS).contains(&b) => {
            v.add(
                "percent_off_basis_points",
                format!("must be 1..{MAX_BASIS_POINTS}, got {b}"),
            );
            None
        }
        (None, b) => Some(Value::PercentOff(b)),
    };
    let minimum = validate::money(v, "min_order_amount", msg.min_order_amount.as_ref());
    let currency = match (&amount_off, &minimum) {
        (Some(a), Some(m)) if a.currency_code != m.currency_code => {
            v.add(
                "min_order_amount.currency_code",
                format!("must be amount_off's currency, {}", a.currency_code),
            );
            String::new()
        }
        (Some(a), _) => a.currency_code.clone(),
        (None, Some(m)) => m.currency_code.clone(),
        (None, None) => String::new(),
    };
    let expire_time = match msg.expire_time.as_ref() {
        None => {
            v.add("expire_time", "is required");
            0
        }
        given => match validate::optional_time(given, "expire_time", v) {
            Some(t) if t <= now => {
                v.add("expire_time", "must be in the future");
                t
            }
            t => t.unwrap_or_default(),
        },
    };
    let mut unique: Vec<Uuid> = Vec::with_capacity(customers.len());
    for c in customers {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    Issue {
        campaign_id,
        count,
        customers: unique,
        terms: Terms {
            currency,
            value: value.unwrap_or(Value::PercentOff(0)),
            min_order: minimum.map_or(0, |m| m.minor_units),
            expire_time,
            strategy,
            issued_by: String::new(),
        },
    }
}

/// A code a request gives in `field`, as stored.
pub fn code(v: &mut Violations, field: &str, raw: &str) -> String {
    coupon::parse_code(raw)
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

/// The code of a "coupons/{code}" name given in `field`.
pub fn code_of_name(v: &mut Violations, field: &str, name: &str) -> String {
    match names::parse_subject(coupon::COUPONS, name) {
        Ok(raw) => code(v, field, raw),
        Err(e) => {
            v.add(field, e);
            String::new()
        }
    }
}

/// An "orders/{order}" name given in `field`, as the order's canonical name.
pub fn order_name(v: &mut Violations, field: &str, name: &str) -> String {
    validate::id_in("orders", name, field, v)
        .map(|id| names::format_id("orders", id))
        .unwrap_or_default()
}

/// Parses the order a RedeemCoupon request names.
pub fn parse_order(msg: &pb::RedeemCouponRequest, v: &mut Violations) -> Order {
    let name = order_name(v, "order", &msg.order);
    let customer_id =
        validate::id_in("customers", &msg.customer, "customer", v).unwrap_or_default();
    let amount = validate::money(v, "order_amount", msg.order_amount.as_ref());
    if msg.order_amount.is_none() {
        v.add("order_amount", "is required");
    }
    let (currency, amount) =
        amount.map_or((String::new(), 0), |m| (m.currency_code, m.minor_units));
    Order {
        name,
        customer_id,
        currency,
        amount,
    }
}

fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

/// The answer for `c`.
pub fn coupon_to_proto(c: &Coupon) -> pb::Coupon {
    let t = &c.terms;
    let (amount_off, percent) = match t.value {
        Value::AmountOff(a) => (money(&t.currency, a), 0),
        Value::PercentOff(bps) => (None, bps),
    };
    let r = c.redemption.as_ref();
    pb::Coupon {
        name: c.name(),
        code: c.code.clone(),
        campaign: names::format_id(CAMPAIGNS, c.campaign_id),
        strategy: t.strategy.clone(),
        customer: c
            .customer_id
            .map(|id| names::format_id("customers", id))
            .unwrap_or_default(),
        amount_off,
        percent_off_basis_points: percent,
        min_order_amount: (t.min_order > 0)
            .then(|| money(&t.currency, t.min_order))
            .flatten(),
        expire_time: Some(to_timestamp(t.expire_time)),
        state: write(&STATES, c.state),
        order: r.map(|r| r.order.clone()).unwrap_or_default(),
        order_customer: r.map(|r| r.customer.clone()).unwrap_or_default(),
        order_amount: r.and_then(|r| money(&r.currency, r.amount)),
        discount: r.and_then(|r| money(&r.currency, r.discount)),
        redeem_time: r.map(|r| to_timestamp(r.time)),
        issued_by: t.issued_by.clone(),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
    }
}
