//! Orders (OR2): lines that keep what the product was and cost when it was sold, discounts
//! with a manager's approval above the tenant's threshold, payments, the states an order goes
//! through, and what each change may do. Amounts are minor units of the order's currency.

use rapport_kit::names;

use super::charges::{Charge, ChargeKind, ChargeRule, LineBase};
use rapport_runtime::clock::{DAY, Micros};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The collection of orders.
pub const ORDERS: &str = "orders";
/// Lines of an order, at most.
pub const MAX_LINES: usize = 200;
/// Units of one line, at most.
pub const MAX_QUANTITY: i64 = 10_000;
/// Characters of a cancellation reason, at most.
pub const MAX_REASON: usize = 500;

/// "orders/{id}".
pub fn order_name(id: Uuid) -> String {
    names::format_id(ORDERS, id)
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Draft,
    Confirmed,
    DeliveryScheduled,
    Delivered,
    Completed,
    Cancelled,
}

impl State {
    /// The stored form, also what filters compare with.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "DRAFT",
            State::Confirmed => "CONFIRMED",
            State::DeliveryScheduled => "DELIVERY_SCHEDULED",
            State::Delivered => "DELIVERED",
            State::Completed => "COMPLETED",
            State::Cancelled => "CANCELLED",
        }
    }

    /// The state of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            State::Draft,
            State::Confirmed,
            State::DeliveryScheduled,
            State::Delivered,
            State::Completed,
            State::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether the content (lines, discounts, references) may still change: not once a
    /// delivery is booked.
    pub fn is_open(self) -> bool {
        matches!(self, State::Draft | State::Confirmed)
    }

    /// Whether payments may still be recorded: until the order is completed or cancelled.
    pub fn takes_payments(self) -> bool {
        matches!(
            self,
            State::Draft | State::Confirmed | State::DeliveryScheduled | State::Delivered
        )
    }
}

/// Whether the discount waits for a manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Approval {
    NotRequired,
    Pending,
    Approved,
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentMethod {
    Cash,
    Card,
    BankTransfer,
    WechatPay,
    Alipay,
    Financing,
    Other,
}

/// What a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentKind {
    Deposit,
    Payment,
}

/// Money received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub kind: PaymentKind,
    pub method: PaymentMethod,
    pub amount: i64,
    pub pay_time: Micros,
    pub reference: String,
    pub recorded_by: String,
}

/// A line as the caller asks for it: a SKU, how many, the discount on the whole line; `id`
/// names a line the order already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub id: Option<String>,
    pub sku: String,
    pub quantity: i64,
    pub discount: i64,
}

/// Some units of one line: what a delivery or a return names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePart {
    pub line_id: String,
    pub quantity: i64,
}

/// What the catalog says of a SKU when a line is added: the snapshot the line keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub product_id: Uuid,
    pub product_name: String,
    pub category_id: Uuid,
    pub unit_price: i64,
    pub unit_cost: i64,
    pub area_milli: Option<i64>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub id: String,
    pub sku: String,
    pub quantity: i64,
    pub discount: i64,
    pub product_id: Uuid,
    pub product_name: String,
    pub category_id: Uuid,
    pub unit_price: i64,
    pub unit_cost: i64,
    /// Units booked on deliveries not yet made.
    #[serde(default)]
    pub scheduled: i64,
    /// Units delivered.
    #[serde(default)]
    pub delivered: i64,
    /// Units named by returns and exchanges not rejected.
    #[serde(default)]
    pub returned: i64,
    /// The product's area in thousandths of a square metre, when it has one (homes).
    #[serde(default)]
    pub area_milli: Option<i64>,
}

impl Line {
    /// What was sold on the line, leaving out how far it is delivered: what reports read.
    pub fn sale(&self) -> (&str, &str, i64, i64, i64, i64) {
        (
            &self.id,
            &self.sku,
            self.quantity,
            self.discount,
            self.unit_price,
            self.unit_cost,
        )
    }

    /// Units neither delivered nor booked for delivery.
    pub fn undelivered(&self) -> i64 {
        self.quantity - self.scheduled - self.delivered
    }

    /// Unit price × quantity.
    pub fn list_amount(&self) -> i64 {
        self.unit_price * self.quantity
    }

    /// The list amount less the line's discount.
    pub fn amount(&self) -> i64 {
        self.list_amount() - self.discount
    }
}

/// The follow-up visit (回访) after delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub due_time: Micros,
    pub done_time: Option<Micros>,
    pub satisfaction: i32,
    pub notes: String,
    pub recorded_by: String,
    /// When the service announced the visit due.
    #[serde(default)]
    pub announce_time: Option<Micros>,
}

/// References of an order to other services' resources, as full names; empty when none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refs {
    pub store: String,
    /// Where the order is delivered to or sold in, for market analytics.
    #[serde(default)]
    pub region: String,
    pub partner: String,
    pub campaign: String,
    pub opportunity: String,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub owner_id: String,
    pub team_id: String,
    pub refs: Refs,
    pub currency: String,
    pub lines: Vec<Line>,
    pub order_discount: i64,
    pub payments: Vec<Payment>,
    pub state: State,
    pub cancel_reason: String,
    pub approval: Approval,
    pub approved_by: String,
    /// The discount total a manager approved; raising the discount above it asks again.
    pub approved_discount: i64,
    pub notes: String,
    pub revision: i64,
    pub confirm_time: Option<Micros>,
    pub cancel_time: Option<Micros>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
    /// When the last line was delivered.
    #[serde(default)]
    pub deliver_time: Option<Micros>,
    #[serde(default)]
    pub follow_up: Option<FollowUp>,
    /// What returns refunded.
    #[serde(default)]
    pub refunded: i64,
    /// Taxes and fees, as the rules made them when the content last changed.
    #[serde(default)]
    pub charges: Vec<Charge>,
    /// The code of the coupon redeemed for the order, as the campaigns service keeps it.
    #[serde(default)]
    pub coupon_code: String,
}

/// An order's sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub fee_total: i64,
    /// subtotal − discount_total + tax_total + fee_total.
    pub total: i64,
    pub paid: i64,
    pub balance_due: i64,
    /// What returns refunded.
    pub refunded: i64,
    /// total − refunded.
    pub net_total: i64,
}

/// Why an order refuses a change; the caller's answer is FAILED_PRECONDITION (or
/// INVALID_ARGUMENT for amounts) naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The order is in a state where this cannot happen.
    State(State),
    /// Confirming an order without lines.
    NoLines,
    /// Confirming while the discount waits for approval.
    ApprovalPending,
    /// Approving a discount that needs no approval (or is approved already).
    NothingToApprove,
    /// A payment above the balance due.
    Overpaid { balance_due: i64 },
    /// Bad values given for the change, by field (discounts above what they discount,
    /// quantities above what is left to deliver).
    Fields(Vec<(String, String)>),
}

impl Order {
    /// A new draft without lines, discounts or payments.
    pub fn draft(
        customer_id: Uuid,
        owner_id: String,
        team_id: String,
        currency: String,
        now: Micros,
    ) -> Self {
        Order {
            id: Uuid::now_v7(),
            customer_id,
            owner_id,
            team_id,
            refs: Refs::default(),
            currency,
            lines: Vec::new(),
            order_discount: 0,
            payments: Vec::new(),
            state: State::Draft,
            cancel_reason: String::new(),
            approval: Approval::NotRequired,
            approved_by: String::new(),
            approved_discount: 0,
            notes: String::new(),
            revision: 1,
            confirm_time: None,
            cancel_time: None,
            create_time: now,
            update_time: now,
            version: 1,
            deliver_time: None,
            follow_up: None,
            refunded: 0,
            charges: Vec::new(),
            coupon_code: String::new(),
        }
    }

    /// "orders/{id}".
    pub fn name(&self) -> String {
        order_name(self.id)
    }

    /// The order's sums.
    pub fn totals(&self) -> Totals {
        let subtotal: i64 = self.lines.iter().map(Line::list_amount).sum();
        let line_discounts: i64 = self.lines.iter().map(|l| l.discount).sum();
        let discount_total = line_discounts + self.order_discount;
        let charged = |kind| {
            self.charges
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.amount)
                .sum::<i64>()
        };
        let (tax_total, fee_total) = (charged(ChargeKind::Tax), charged(ChargeKind::Fee));
        let total = subtotal - discount_total + tax_total + fee_total;
        let paid: i64 = self.payments.iter().map(|p| p.amount).sum();
        Totals {
            subtotal,
            discount_total,
            tax_total,
            fee_total,
            total,
            paid,
            balance_due: (total - paid).max(0),
            refunded: self.refunded,
            net_total: total - self.refunded,
        }
    }

    /// Sets the taxes and fees `rules` make of the order as it is now; `first` says whether it
    /// is its customer's first purchase.
    pub fn apply_charges(&mut self, rules: &[ChargeRule], first: bool) {
        let lines: Vec<LineBase> = self
            .lines
            .iter()
            .map(|l| LineBase {
                amount: l.amount(),
                category: l.category_id,
                area_milli: l.area_milli,
            })
            .collect();
        let t = self.totals();
        let net = t.subtotal - t.discount_total;
        self.charges = rules
            .iter()
            .filter_map(|r| r.charge(&lines, net, &self.currency, first))
            .collect();
    }

    /// Whether the discount is above `percent` of the subtotal.
    pub fn discount_above(&self, percent: i32) -> bool {
        let t = self.totals();
        i128::from(t.discount_total) * 100 > i128::from(t.subtotal) * i128::from(percent)
    }

    /// Sets the approval the discount needs under `percent`: an approval holds while the
    /// discount stays at or below what was approved.
    pub fn review_discount(&mut self, percent: i32) {
        if !self.discount_above(percent) {
            self.approval = Approval::NotRequired;
            self.approved_by.clear();
            self.approved_discount = 0;
        } else if !(self.approval == Approval::Approved
            && self.totals().discount_total <= self.approved_discount)
        {
            self.approval = Approval::Pending;
            self.approved_by.clear();
            self.approved_discount = 0;
        }
    }

    /// The discounts that exceed what they discount, by field.
    pub fn amount_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            if l.discount > l.list_amount() {
                out.push((
                    format!("order.lines[{i}].discount"),
                    format!(
                        "{} is more than the line's list amount {}",
                        l.discount,
                        l.list_amount()
                    ),
                ));
            }
        }
        let lines: i64 = self.lines.iter().map(|l| l.amount().max(0)).sum();
        if self.order_discount > lines {
            out.push((
                "order.order_discount".to_owned(),
                format!(
                    "{} is more than the lines' amount after their discounts, {lines}",
                    self.order_discount
                ),
            ));
        }
        let t = self.totals();
        if out.is_empty() && t.total < t.paid {
            out.push((
                "order".to_owned(),
                format!(
                    "the total would be {}, below the {} already paid",
                    t.total, t.paid
                ),
            ));
        }
        out
    }

    /// Refuses content changes unless the order is a draft or confirmed.
    pub fn check_open(&self) -> Result<(), Refusal> {
        if self.state.is_open() {
            Ok(())
        } else {
            Err(Refusal::State(self.state))
        }
    }

    /// Checks content after a change: discounts within their amounts.
    pub fn check_amounts(&self) -> Result<(), Refusal> {
        let problems = self.amount_problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Fields(problems))
        }
    }

    /// Confirms a draft.
    pub fn confirm(&mut self, now: Micros) -> Result<(), Refusal> {
        if self.state != State::Draft {
            return Err(Refusal::State(self.state));
        }
        if self.lines.is_empty() {
            return Err(Refusal::NoLines);
        }
        if self.approval == Approval::Pending {
            return Err(Refusal::ApprovalPending);
        }
        self.state = State::Confirmed;
        self.confirm_time = Some(now);
        Ok(())
    }

    /// Cancels a draft or confirmed order.
    pub fn cancel(&mut self, reason: &str, now: Micros) -> Result<(), Refusal> {
        self.check_open()?;
        self.state = State::Cancelled;
        self.cancel_reason = reason.to_owned();
        self.cancel_time = Some(now);
        Ok(())
    }

    /// Records the coupon `code` redeemed for the order, which attributes it to the coupon's
    /// `campaign`; an order that names another campaign is refused.
    pub fn apply_coupon(&mut self, code: &str, campaign: &str) -> Result<(), Refusal> {
        if !self.refs.campaign.is_empty() && self.refs.campaign != campaign {
            return Err(Refusal::Fields(vec![(
                "order.campaign".to_owned(),
                format!(
                    "is {} but the coupon {code} belongs to {campaign}; leave it empty or name \
                     that campaign",
                    self.refs.campaign
                ),
            )]));
        }
        self.refs.campaign = campaign.to_owned();
        self.coupon_code = code.to_owned();
        Ok(())
    }

    /// A manager's approval of the current discount.
    pub fn approve_discount(&mut self, approver: &str) -> Result<(), Refusal> {
        self.check_open()?;
        if self.approval != Approval::Pending {
            return Err(Refusal::NothingToApprove);
        }
        self.approval = Approval::Approved;
        self.approved_by = approver.to_owned();
        self.approved_discount = self.totals().discount_total;
        Ok(())
    }

    /// Records a payment of at most the balance due.
    pub fn add_payment(&mut self, payment: Payment) -> Result<(), Refusal> {
        if !self.state.takes_payments() {
            return Err(Refusal::State(self.state));
        }
        let balance_due = self.totals().balance_due;
        if payment.amount > balance_due {
            return Err(Refusal::Overpaid { balance_due });
        }
        self.payments.push(payment);
        Ok(())
    }

    /// Books `parts` for delivery: each names a line and at most what is left of it to
    /// deliver. The order is then DELIVERY_SCHEDULED.
    pub fn book(&mut self, parts: &[LinePart]) -> Result<(), Refusal> {
        if !matches!(self.state, State::Confirmed | State::DeliveryScheduled) {
            return Err(Refusal::State(self.state));
        }
        let mut problems = Vec::new();
        let mut next = self.lines.clone();
        for (i, part) in parts.iter().enumerate() {
            let field = format!("delivery.lines[{i}]");
            match next.iter_mut().find(|l| l.id == part.line_id) {
                None => problems.push((
                    format!("{field}.line_id"),
                    format!("the order has no line {}", part.line_id),
                )),
                Some(l) if part.quantity > l.undelivered() => problems.push((
                    format!("{field}.quantity"),
                    format!(
                        "{} is more than the {} of line {} left to deliver",
                        part.quantity,
                        l.undelivered(),
                        l.id
                    ),
                )),
                Some(l) => l.scheduled += part.quantity,
            }
        }
        if !problems.is_empty() {
            return Err(Refusal::Fields(problems));
        }
        self.lines = next;
        self.state = State::DeliveryScheduled;
        Ok(())
    }

    /// Frees what a called-off delivery booked; the order is CONFIRMED again when nothing is
    /// booked or delivered.
    pub fn unbook(&mut self, parts: &[LinePart]) {
        for part in parts {
            if let Some(l) = self.lines.iter_mut().find(|l| l.id == part.line_id) {
                l.scheduled = (l.scheduled - part.quantity).max(0);
            }
        }
        if self
            .lines
            .iter()
            .all(|l| l.scheduled == 0 && l.delivered == 0)
        {
            self.state = State::Confirmed;
        }
    }

    /// Moves what a delivery booked to delivered. When every line is delivered the order is
    /// DELIVERED and its follow-up visit is due `follow_up_days` later.
    pub fn deliver(&mut self, parts: &[LinePart], now: Micros, follow_up_days: i32) {
        for part in parts {
            if let Some(l) = self.lines.iter_mut().find(|l| l.id == part.line_id) {
                let q = part.quantity.min(l.scheduled);
                l.scheduled -= q;
                l.delivered += q;
            }
        }
        if self.lines.iter().all(|l| l.delivered >= l.quantity) {
            self.state = State::Delivered;
            self.deliver_time = Some(now);
            self.follow_up = Some(FollowUp {
                due_time: now + i64::from(follow_up_days) * DAY,
                done_time: None,
                satisfaction: 0,
                notes: String::new(),
                recorded_by: String::new(),
                announce_time: None,
            });
        }
    }

    /// Names `parts` for a return or exchange: each at most what was delivered of its line and
    /// not named by another; returns their value (each line's amount times the share of its
    /// units returned, rounded down), the most a refund gives back.
    pub fn reserve_return(&mut self, parts: &[LinePart]) -> Result<i64, Refusal> {
        if !matches!(
            self.state,
            State::DeliveryScheduled | State::Delivered | State::Completed
        ) {
            return Err(Refusal::State(self.state));
        }
        let mut problems = Vec::new();
        let mut next = self.lines.clone();
        let mut value = 0;
        for (i, part) in parts.iter().enumerate() {
            let field = format!("return.lines[{i}]");
            match next.iter_mut().find(|l| l.id == part.line_id) {
                None => problems.push((
                    format!("{field}.line_id"),
                    format!("the order has no line {}", part.line_id),
                )),
                Some(l) if part.quantity > l.delivered - l.returned => problems.push((
                    format!("{field}.quantity"),
                    format!(
                        "{} is more than the {} of line {} delivered and not yet returned",
                        part.quantity,
                        l.delivered - l.returned,
                        l.id
                    ),
                )),
                Some(l) => {
                    l.returned += part.quantity;
                    value += i64::try_from(
                        i128::from(l.amount()) * i128::from(part.quantity) / i128::from(l.quantity),
                    )
                    .unwrap_or(0);
                }
            }
        }
        if !problems.is_empty() {
            return Err(Refusal::Fields(problems));
        }
        self.lines = next;
        Ok(value)
    }

    /// Frees what a rejected return named.
    pub fn release_return(&mut self, parts: &[LinePart]) {
        for part in parts {
            if let Some(l) = self.lines.iter_mut().find(|l| l.id == part.line_id) {
                l.returned = (l.returned - part.quantity).max(0);
            }
        }
    }

    /// Records a refund of a return: the net total shrinks by it.
    pub fn refund(&mut self, amount: i64) {
        self.refunded += amount;
    }

    /// Records the follow-up visit of a delivered order, which completes it.
    pub fn record_follow_up(
        &mut self,
        satisfaction: i32,
        notes: &str,
        by: &str,
        now: Micros,
    ) -> Result<(), Refusal> {
        if self.state != State::Delivered {
            return Err(Refusal::State(self.state));
        }
        let announced = self.follow_up.as_ref().and_then(|f| f.announce_time);
        let due_time = self.follow_up.as_ref().map_or(now, |f| f.due_time);
        self.follow_up = Some(FollowUp {
            due_time,
            done_time: Some(now),
            satisfaction,
            notes: notes.to_owned(),
            recorded_by: by.to_owned(),
            announce_time: announced,
        });
        self.state = State::Completed;
        Ok(())
    }

    /// Replaces the lines: a request with the id of a current line keeps that line's snapshot
    /// (its price stays what was agreed) with the new quantity and discount; the others are new
    /// lines from `snapshot_of` with fresh ids from `new_id`. Unknown ids are returned.
    pub fn replace_lines(
        &mut self,
        requests: &[LineRequest],
        snapshot_of: impl Fn(&str) -> Option<Snapshot>,
        mut new_id: impl FnMut() -> String,
    ) -> Result<(), Vec<(usize, String)>> {
        let mut lines = Vec::with_capacity(requests.len());
        let mut problems = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let kept =
                r.id.as_ref()
                    .map(|id| (id, self.lines.iter().find(|l| &l.id == id)));
            let line = match kept {
                Some((_, Some(old))) if old.sku.eq_ignore_ascii_case(&r.sku) => Line {
                    quantity: r.quantity,
                    discount: r.discount,
                    ..old.clone()
                },
                Some((_, Some(old))) => {
                    problems.push((
                        i,
                        format!(
                            "line {} is {}; a different SKU is a new line (leave id empty)",
                            old.id, old.sku
                        ),
                    ));
                    continue;
                }
                Some((id, None)) => {
                    problems.push((i, format!("the order has no line {id}")));
                    continue;
                }
                None => match snapshot_of(&r.sku) {
                    Some(s) => Line {
                        id: new_id(),
                        sku: r.sku.clone(),
                        quantity: r.quantity,
                        discount: r.discount,
                        product_id: s.product_id,
                        product_name: s.product_name,
                        category_id: s.category_id,
                        unit_price: s.unit_price,
                        unit_cost: s.unit_cost,
                        scheduled: 0,
                        delivered: 0,
                        returned: 0,
                        area_milli: s.area_milli,
                    },
                    None => {
                        problems.push((i, format!("no active product has SKU {}", r.sku)));
                        continue;
                    }
                },
            };
            lines.push(line);
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        self.lines = lines;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(price: i64) -> Snapshot {
        Snapshot {
            product_id: Uuid::nil(),
            product_name: "Sofa".into(),
            category_id: Uuid::nil(),
            unit_price: price,
            unit_cost: price / 2,
            area_milli: None,
        }
    }

    fn order() -> Order {
        Order::draft(
            Uuid::now_v7(),
            "rep-1".into(),
            "north".into(),
            "CNY".into(),
            0,
        )
    }

    #[test]
    fn a_coupon_attributes_the_order_to_its_campaign_and_no_other() {
        let mut o = order();
        o.apply_coupon("ABCDEFGH23", "campaigns/a").unwrap();
        assert_eq!(
            (o.refs.campaign.as_str(), o.coupon_code.as_str()),
            ("campaigns/a", "ABCDEFGH23")
        );
        let mut named = order();
        named.refs.campaign = "campaigns/b".into();
        match named.apply_coupon("ABCDEFGH23", "campaigns/a") {
            Err(Refusal::Fields(f)) => assert_eq!(f[0].0, "order.campaign"),
            other => panic!("{other:?}"),
        }
        assert!(named.coupon_code.is_empty());
    }

    fn line(sku: &str, quantity: i64, discount: i64) -> LineRequest {
        LineRequest {
            id: None,
            sku: sku.into(),
            quantity,
            discount,
        }
    }

    fn with_lines(requests: &[LineRequest]) -> Order {
        let mut o = order();
        let mut n = 0;
        o.replace_lines(
            requests,
            |_| Some(snapshot(10_000)),
            || {
                n += 1;
                format!("l{n}")
            },
        )
        .unwrap();
        o
    }

    #[test]
    fn totals_follow_lines_discounts_and_payments() {
        let mut o = with_lines(&[line("A", 2, 1_000), line("B", 1, 0)]);
        o.order_discount = 500;
        let t = o.totals();
        assert_eq!(
            (t.subtotal, t.discount_total, t.total, t.paid, t.balance_due),
            (30_000, 1_500, 28_500, 0, 28_500)
        );
        o.add_payment(payment(8_500)).unwrap();
        assert_eq!(o.totals().balance_due, 20_000);
        assert_eq!(
            o.add_payment(payment(20_001)),
            Err(Refusal::Overpaid {
                balance_due: 20_000
            })
        );
    }

    fn payment(amount: i64) -> Payment {
        Payment {
            id: "p".into(),
            kind: PaymentKind::Deposit,
            method: PaymentMethod::Cash,
            amount,
            pay_time: 0,
            reference: String::new(),
            recorded_by: "rep-1".into(),
        }
    }

    #[test]
    fn a_discount_above_the_threshold_waits_and_an_approval_holds_until_it_grows() {
        let mut o = with_lines(&[line("A", 1, 1_000)]);
        o.review_discount(10);
        assert_eq!(o.approval, Approval::NotRequired);
        o.lines[0].discount = 2_000;
        o.review_discount(10);
        assert_eq!(o.approval, Approval::Pending);
        assert_eq!(o.confirm(1), Err(Refusal::ApprovalPending));
        o.approve_discount("mgr").unwrap();
        assert_eq!(o.approved_discount, 2_000);
        o.lines[0].discount = 1_500;
        o.review_discount(10);
        assert_eq!(o.approval, Approval::Approved);
        o.lines[0].discount = 2_500;
        o.review_discount(10);
        assert_eq!(o.approval, Approval::Pending);
        assert_eq!(o.approve_discount("mgr"), Ok(()));
        assert_eq!(o.approve_discount("mgr"), Err(Refusal::NothingToApprove));
        o.confirm(5).unwrap();
        assert_eq!((o.state, o.confirm_time), (State::Confirmed, Some(5)));
    }

    #[test]
    fn kept_lines_keep_their_price_and_new_ones_take_the_catalog_s() {
        let mut o = with_lines(&[line("A", 1, 0)]);
        let kept = LineRequest {
            id: Some("l1".into()),
            ..line("a", 3, 0)
        };
        o.replace_lines(
            &[kept, line("B", 1, 0)],
            |_| Some(snapshot(99)),
            || "l2".into(),
        )
        .unwrap();
        assert_eq!(o.lines[0].unit_price, 10_000);
        assert_eq!(o.lines[0].quantity, 3);
        assert_eq!((o.lines[1].id.as_str(), o.lines[1].unit_price), ("l2", 99));
        let unknown = LineRequest {
            id: Some("l9".into()),
            ..line("A", 1, 0)
        };
        let other_sku = LineRequest {
            id: Some("l1".into()),
            ..line("B", 1, 0)
        };
        let err = o
            .replace_lines(
                &[unknown, other_sku, line("C", 1, 0)],
                |_| None,
                String::new,
            )
            .unwrap_err();
        assert_eq!(err.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(o.lines.len(), 2, "a refused change changes nothing");
    }

    #[test]
    fn discounts_never_exceed_what_they_discount() {
        let mut o = with_lines(&[line("A", 1, 10_001)]);
        o.order_discount = 1;
        let fields: Vec<String> = o.amount_problems().into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["order.lines[0].discount", "order.order_discount"]);
    }

    fn part(line: &str, quantity: i64) -> LinePart {
        LinePart {
            line_id: line.into(),
            quantity,
        }
    }

    #[test]
    fn deliveries_book_at_most_what_is_left_and_the_last_one_delivers_the_order() {
        let mut o = with_lines(&[line("A", 2, 0), line("B", 1, 0)]);
        assert_eq!(o.book(&[part("l1", 1)]), Err(Refusal::State(State::Draft)));
        o.confirm(1).unwrap();
        let Err(Refusal::Fields(problems)) = o.book(&[part("l1", 3), part("l9", 1)]) else {
            panic!("too much and an unknown line are refused");
        };
        assert_eq!(problems.len(), 2);
        assert_eq!(o.lines[0].scheduled, 0, "a refused booking books nothing");
        o.book(&[part("l1", 1), part("l2", 1)]).unwrap();
        o.book(&[part("l1", 1)]).unwrap();
        assert_eq!(o.state, State::DeliveryScheduled);
        assert!(matches!(o.book(&[part("l1", 1)]), Err(Refusal::Fields(_))));
        o.unbook(&[part("l1", 1)]);
        assert_eq!(o.state, State::DeliveryScheduled);
        o.deliver(&[part("l1", 1), part("l2", 1)], 10, 7);
        assert_eq!(o.state, State::DeliveryScheduled);
        o.book(&[part("l1", 1)]).unwrap();
        o.deliver(&[part("l1", 1)], 20, 7);
        assert_eq!((o.state, o.deliver_time), (State::Delivered, Some(20)));
        assert_eq!(o.follow_up.as_ref().unwrap().due_time, 20 + 7 * DAY);
        o.add_payment(payment(1)).unwrap();
        o.record_follow_up(5, "Lovely sofa", "rep-1", 30).unwrap();
        assert_eq!(o.state, State::Completed);
        assert_eq!(
            o.record_follow_up(4, "", "rep-1", 31),
            Err(Refusal::State(State::Completed))
        );
        assert_eq!(
            o.add_payment(payment(1)),
            Err(Refusal::State(State::Completed))
        );
    }

    #[test]
    fn returns_name_at_most_what_was_delivered_and_not_returned() {
        let mut o = with_lines(&[line("A", 3, 300)]);
        o.confirm(1).unwrap();
        assert_eq!(
            o.reserve_return(&[part("l1", 1)]),
            Err(Refusal::State(State::Confirmed))
        );
        o.book(&[part("l1", 3)]).unwrap();
        o.deliver(&[part("l1", 2)], 5, 7);
        // Two delivered, 29,700 for three: one unit is worth 9,900.
        assert_eq!(o.reserve_return(&[part("l1", 1)]), Ok(9_900));
        assert!(matches!(
            o.reserve_return(&[part("l1", 2)]),
            Err(Refusal::Fields(_))
        ));
        o.release_return(&[part("l1", 1)]);
        assert_eq!(o.reserve_return(&[part("l1", 2)]), Ok(19_800));
        o.refund(19_800);
        let t = o.totals();
        assert_eq!((t.total, t.refunded, t.net_total), (29_700, 19_800, 9_900));
    }

    #[test]
    fn calling_off_the_only_delivery_confirms_the_order_again() {
        let mut o = with_lines(&[line("A", 1, 0)]);
        o.confirm(1).unwrap();
        o.book(&[part("l1", 1)]).unwrap();
        o.unbook(&[part("l1", 1)]);
        assert_eq!(o.state, State::Confirmed);
        assert_eq!(o.lines[0].undelivered(), 1);
    }

    #[test]
    fn states_allow_what_they_allow() {
        let mut o = order();
        assert_eq!(o.confirm(1), Err(Refusal::NoLines));
        o.cancel("changed their mind", 2).unwrap();
        assert_eq!(o.cancel("again", 3), Err(Refusal::State(State::Cancelled)));
        assert_eq!(o.confirm(3), Err(Refusal::State(State::Cancelled)));
        assert_eq!(
            o.add_payment(payment(1)),
            Err(Refusal::State(State::Cancelled))
        );
        for s in ["DRAFT", "CONFIRMED", "DELIVERY_SCHEDULED", "CANCELLED"] {
            assert_eq!(State::parse(s).unwrap().as_str(), s);
        }
    }
}
