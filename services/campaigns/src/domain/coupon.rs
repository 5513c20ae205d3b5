//! Coupons (CA7): issued by a campaign, named by their codes, redeemed once for an order (the
//! same order again finds the same redemption), released when that order is never written or
//! is cancelled, and expired at their time. Codes are random over an alphabet without the
//! look-alike 0, O, 1 and I, so a code read out at a counter is typed right.

use rand::Rng;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The collection of coupons' names: "coupons/{code}".
pub const COUPONS: &str = "coupons";
/// What codes are made of: digits and upper-case letters but 0, O, 1 and I.
pub const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters of a code: 50 bits, so a tenant's codes collide rarely, and are retried when
/// they do.
pub const CODE_LEN: usize = 10;
/// Most coupons one IssueCoupons makes.
pub const MAX_COUNT: i32 = 10_000;
/// Most customers one IssueCoupons binds coupons to (each is read from the customers
/// service).
pub const MAX_CUSTOMERS: usize = 1_000;
/// The most a percentage takes off: everything.
pub const MAX_BASIS_POINTS: i32 = 10_000;

/// A new code drawn from `rng`.
pub fn new_code(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The code `raw` names, as stored (upper case); what is wrong with it otherwise. Codes are
/// read in any case, since people type them.
pub fn parse_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err("is required".to_owned());
    }
    if code.chars().count() != CODE_LEN || !code.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err(format!(
            "is not a coupon code: {CODE_LEN} letters and digits, without 0, O, 1 or I"
        ));
    }
    Ok(code)
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// An amount, in the coupon's currency.
    AmountOff(i64),
    /// A share of the order amount, in basis points.
    PercentOff(i32),
}

/// What every coupon of one issue shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The currency of the amount off and the minimum; empty for a percentage without a
    /// minimum, which takes its share of an order in any currency.
    pub currency: String,
    pub value: Value,
    /// The least order amount, 0 for none.
    pub min_order: i64,
    pub expire_time: Micros,
    /// "strategies/{strategy}" as given, or empty.
    pub strategy: String,
    pub issued_by: String,
}

/// Where a coupon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Issued,
    Redeemed,
    Expired,
}

impl State {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Issued => "issued",
            State::Redeemed => "redeemed",
            State::Expired => "expired",
        }
    }

    /// The state of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [State::Issued, State::Redeemed, State::Expired]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What a coupon was redeemed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// "orders/{order}".
    pub order: String,
    /// "customers/{customer}".
    pub customer: String,
    pub currency: String,
    pub amount: i64,
    pub discount: i64,
    pub time: Micros,
}

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    pub code: String,
    pub campaign_id: Uuid,
    /// The customer it is bound to.
    pub customer_id: Option<Uuid>,
    pub terms: Terms,
    pub state: State,
    pub redemption: Option<Redemption>,
    pub create_time: Micros,
    pub update_time: Micros,
}

/// An order a coupon is asked to be redeemed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// "orders/{order}".
    pub name: String,
    pub customer_id: Uuid,
    pub currency: String,
    pub amount: i64,
}

/// Why a coupon is not redeemed or released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Redeemed for another order, which is not said.
    AlreadyRedeemed,
    Expired,
    /// Bound to another customer, who is not said.
    OtherCustomer,
    UnderMinimum {
        currency: String,
        minimum: i64,
    },
    Currency(String),
    /// A release for an order the coupon is redeemed for but this one.
    NotRedeemedFor(String),
    /// Its campaign was cancelled: its coupons are void.
    Void,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::AlreadyRedeemed => f.write_str("the coupon was already redeemed"),
            Refusal::Expired => f.write_str("the coupon has expired"),
            Refusal::OtherCustomer => f.write_str("the coupon is for another customer"),
            Refusal::UnderMinimum { currency, minimum } => write!(
                f,
                "the coupon needs an order amount of at least {minimum} {currency} (minor units)"
            ),
            Refusal::Currency(c) => write!(f, "the coupon is for orders in {c}"),
            Refusal::NotRedeemedFor(order) => {
                write!(f, "the coupon is not redeemed for {order}")
            }
            Refusal::Void => f.write_str("the coupon's campaign was cancelled"),
        }
    }
}

impl Coupon {
    /// "coupons/{code}".
    pub fn name(&self) -> String {
        format!("{COUPONS}/{}", self.code)
    }

    /// What the coupon takes off `amount`: never more than the amount.
    pub fn discount(&self, amount: i64) -> i64 {
        let off = match self.terms.value {
            Value::AmountOff(a) => a,
            Value::PercentOff(bps) => {
                let share = i128::from(amount) * i128::from(bps) / i128::from(MAX_BASIS_POINTS);
                i64::try_from(share).unwrap_or(amount)
            }
        };
        off.clamp(0, amount.max(0))
    }

    /// Whether an issued coupon is past its time at `now`.
    pub fn expired_at(&self, now: Micros) -> bool {
        self.state == State::Issued && now >= self.terms.expire_time
    }

    /// Redeems the coupon for `order` at `now`, `void` when its campaign was cancelled:
    /// `Ok(false)` when it already is redeemed for that very order (a retry, answered alike),
    /// `Ok(true)` when this redeemed it.
    pub fn redeem(&mut self, order: &Order, void: bool, now: Micros) -> Result<bool, Refusal> {
        match (self.state, &self.redemption) {
            (State::Redeemed, Some(r)) if r.order == order.name => return Ok(false),
            (State::Redeemed, _) => return Err(Refusal::AlreadyRedeemed),
            (State::Expired, _) => return Err(Refusal::Expired),
            (State::Issued, _) if self.expired_at(now) => return Err(Refusal::Expired),
            (State::Issued, _) => {}
        }
        if void {
            return Err(Refusal::Void);
        }
        if self.customer_id.is_some_and(|c| c != order.customer_id) {
            return Err(Refusal::OtherCustomer);
        }
        let currency = &self.terms.currency;
        if !currency.is_empty() && *currency != order.currency {
            return Err(Refusal::Currency(currency.clone()));
        }
        if order.amount < self.terms.min_order {
            return Err(Refusal::UnderMinimum {
                currency: currency.clone(),
                minimum: self.terms.min_order,
            });
        }
        self.state = State::Redeemed;
        self.redemption = Some(Redemption {
            order: order.name.clone(),
            customer: rapport_kit::names::format_id("customers", order.customer_id),
            currency: order.currency.clone(),
            amount: order.amount,
            discount: self.discount(order.amount),
            time: now,
        });
        self.update_time = now;
        Ok(true)
    }

    /// Undoes the redemption for `order` at `now`: `Ok(true)` when this released it,
    /// `Ok(false)` when it was not redeemed (released before, or never).
    pub fn release(&mut self, order: &str, now: Micros) -> Result<bool, Refusal> {
        match (&self.redemption, self.state) {
            (Some(r), State::Redeemed) if r.order == order => {}
            (_, State::Redeemed) => return Err(Refusal::NotRedeemedFor(order.to_owned())),
            _ => return Ok(false),
        }
        // Issued again; if its time has passed meanwhile, the expiry sweep takes it next.
        self.state = State::Issued;
        self.redemption = None;
        self.update_time = now;
        Ok(true)
    }

    /// Marks an issued coupon past its time expired at `now`; whether it did.
    pub fn expire(&mut self, now: Micros) -> bool {
        if !self.expired_at(now) {
            return false;
        }
        self.state = State::Expired;
        self.update_time = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    fn coupon(value: Value) -> Coupon {
        Coupon {
            code: "ABCDEFGH23".into(),
            campaign_id: Uuid::nil(),
            customer_id: None,
            terms: Terms {
                currency: "CNY".into(),
                value,
                min_order: 10_000,
                expire_time: 100,
                strategy: String::new(),
                issued_by: "mk-1".into(),
            },
            state: State::Issued,
            redemption: None,
            create_time: 0,
            update_time: 0,
        }
    }

    fn order(name: &str, amount: i64) -> Order {
        Order {
            name: name.into(),
            customer_id: Uuid::from_u128(7),
            currency: "CNY".into(),
            amount,
        }
    }

    #[test]
    fn codes_are_unambiguous_and_read_in_any_case() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let code = new_code(&mut rng);
            assert_eq!(code.len(), CODE_LEN);
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            assert_eq!(parse_code(&code.to_lowercase()), Ok(code));
        }
        assert!(parse_code(" ").is_err());
        assert!(parse_code("ABCDEFGH2O").is_err());
        assert!(parse_code("ABC").is_err());
    }

    #[test]
    fn a_coupon_is_redeemed_once_and_again_for_the_same_order() {
        let mut c = coupon(Value::AmountOff(5_000));
        assert_eq!(
            c.redeem(&order("orders/a", 9_999), false, 1),
            Err(Refusal::UnderMinimum {
                currency: "CNY".into(),
                minimum: 10_000
            })
        );
        assert_eq!(c.redeem(&order("orders/a", 20_000), false, 1), Ok(true));
        assert_eq!(c.redemption.as_ref().map(|r| r.discount), Some(5_000));
        assert_eq!(c.redeem(&order("orders/a", 20_000), false, 2), Ok(false));
        assert_eq!(
            c.redeem(&order("orders/b", 20_000), false, 2),
            Err(Refusal::AlreadyRedeemed)
        );
        // Redeemed stays redeemed past the expiry.
        assert_eq!(c.redeem(&order("orders/a", 20_000), false, 500), Ok(false));
        assert_eq!(
            c.release("orders/b", 3),
            Err(Refusal::NotRedeemedFor("orders/b".into()))
        );
        assert_eq!(c.release("orders/a", 3), Ok(true));
        assert_eq!(c.release("orders/a", 4), Ok(false));
        assert_eq!(c.state, State::Issued);
        assert_eq!(c.redeem(&order("orders/b", 20_000), false, 5), Ok(true));
    }

    #[test]
    fn expiry_binding_and_currency_are_checked() {
        let mut c = coupon(Value::PercentOff(1_500));
        assert_eq!(
            c.redeem(&order("orders/a", 20_000), false, 100),
            Err(Refusal::Expired)
        );
        assert!(c.expire(100));
        assert!(!c.expire(101));
        assert_eq!(
            c.redeem(&order("orders/a", 20_000), false, 1),
            Err(Refusal::Expired)
        );

        let mut c = coupon(Value::PercentOff(1_500));
        c.customer_id = Some(Uuid::from_u128(8));
        assert_eq!(
            c.redeem(&order("orders/a", 20_000), false, 1),
            Err(Refusal::OtherCustomer)
        );
        c.customer_id = Some(Uuid::from_u128(7));
        let usd = Order {
            currency: "USD".into(),
            ..order("orders/a", 20_000)
        };
        assert_eq!(
            c.redeem(&usd, false, 1),
            Err(Refusal::Currency("CNY".into()))
        );
        assert_eq!(c.redeem(&order("orders/a", 20_000), false, 1), Ok(true));
        assert_eq!(c.redemption.map(|r| r.discount), Some(3_000));
    }

    #[test]
    fn a_cancelled_campaigns_coupons_are_void_but_their_redemptions_stand() {
        let mut c = coupon(Value::AmountOff(5_000));
        assert_eq!(
            c.redeem(&order("orders/a", 20_000), true, 1),
            Err(Refusal::Void)
        );
        assert_eq!(c.redeem(&order("orders/a", 20_000), false, 1), Ok(true));
        assert_eq!(c.redeem(&order("orders/a", 20_000), true, 2), Ok(false));
    }

    #[test]
    fn a_discount_never_exceeds_the_amount() {
        let c = coupon(Value::AmountOff(5_000));
        assert_eq!(c.discount(3_000), 3_000);
        let all = coupon(Value::PercentOff(MAX_BASIS_POINTS));
        assert_eq!(all.discount(i64::MAX), i64::MAX);
        assert_eq!(all.discount(0), 0);
    }
}
