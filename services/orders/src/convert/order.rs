//! Orders, payments and revisions: parsing what a caller sends and building answers and event
//! payloads.

use rapport_kit::{mask::Rules, names, validate};
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use super::{delivery::follow_up_to_proto, id_in, optional_time, settings::charge_kind_to_proto};
use crate::domain::{
    catalog::product_name,
    order::{
        Approval, LineRequest, MAX_LINES, MAX_QUANTITY, Order, Payment, PaymentKind, PaymentMethod,
        Refs, State,
    },
    revision::{Kind, Revision},
};

/// What UpdateOrder accepts.
pub const ORDER_MASK: Rules = Rules {
    updatable: &[
        "store",
        "region",
        "partner",
        "campaign",
        "opportunity",
        "lines",
        "order_discount",
        "notes",
    ],
    immutable: &["name", "customer", "currency_code", "owner_id", "team_id"],
    explained: &[
        ("state", "changes with ConfirmOrder and CancelOrder"),
        ("payments", "are added with AddPayment"),
        ("discount_approval", "changes with ApproveOrderDiscount"),
    ],
    output_only: &[
        "subtotal",
        "discount_total",
        "total",
        "paid",
        "balance_due",
        "refunded",
        "net_total",
        "charges",
        "tax_total",
        "fee_total",
        "coupon_code",
        "cancel_reason",
        "discount_approved_by",
        "revision",
        "confirm_time",
        "cancel_time",
        "create_time",
        "update_time",
        "etag",
    ],
    ..Rules::new("Order")
};

/// What CreateOrder asks for, parsed.
pub struct NewOrder {
    pub customer_id: Uuid,
    /// Empty: the caller.
    pub owner_id: String,
    /// Empty: the caller's team.
    pub team_id: String,
    pub refs: Refs,
    pub currency: String,
    pub lines: Vec<LineRequest>,
    pub order_discount: i64,
    pub notes: String,
}

/// Parses a new order, reporting every bad field under `order.`.
pub fn parse_new_order(o: &pb::Order, v: &mut Violations) -> Option<NewOrder> {
    let customer_id = if o.customer.trim().is_empty() {
        v.add("order.customer", "is required: \"customers/{customer}\"");
        None
    } else {
        id_in("customers", &o.customer, "order.customer", v)
    };
    let currency = o.currency_code.trim().to_owned();
    if !validate::is_currency(&currency) {
        v.add(
            "order.currency_code",
            "is required: an ISO 4217 code (three upper-case letters, e.g. \"CNY\")",
        );
    }
    let owner_id = validate::id(v, "order.owner_id", &o.owner_id);
    let team_id = validate::id(v, "order.team_id", &o.team_id);
    let refs = Refs {
        store: store_ref(&o.store, v),
        region: validate::text(v, "order.region", &o.region, 100),
        partner: id_ref("partners", &o.partner, "order.partner", v),
        campaign: id_ref("campaigns", &o.campaign, "order.campaign", v),
        opportunity: id_ref("opportunities", &o.opportunity, "order.opportunity", v),
    };
    let lines = parse_lines(&o.lines, &currency, v);
    let order_discount = amount_in(
        o.order_discount.as_ref(),
        &currency,
        "order.order_discount",
        v,
    );
    let notes = validate::multiline_text(v, "order.notes", &o.notes, 2000);
    Some(NewOrder {
        customer_id: customer_id?,
        owner_id,
        team_id,
        refs,
        currency,
        lines,
        order_discount,
        notes,
    })
}

/// The coupon code CreateOrder gives, in upper case (codes are printed so), or none; the
/// campaigns service judges the code itself.
pub fn parse_coupon_code(raw: &str, v: &mut Violations) -> Option<String> {
    let code = validate::id(v, "coupon_code", raw.trim()).to_ascii_uppercase();
    (!code.is_empty()).then_some(code)
}

/// The fields of an order an update may change, as given.
pub struct OrderPatch {
    pub refs: Refs,
    pub lines: Option<Vec<LineRequest>>,
    pub order_discount: i64,
    pub notes: String,
}

/// Reads the fields `fields` names from `o` over `current`'s values.
pub fn parse_patch(
    o: &pb::Order,
    fields: &[&str],
    current: &Order,
    v: &mut Violations,
) -> OrderPatch {
    let mut patch = OrderPatch {
        refs: current.refs.clone(),
        lines: None,
        order_discount: current.order_discount,
        notes: current.notes.clone(),
    };
    for field in fields {
        match *field {
            "store" => patch.refs.store = store_ref(&o.store, v),
            "region" => patch.refs.region = validate::text(v, "order.region", &o.region, 100),
            "partner" => patch.refs.partner = id_ref("partners", &o.partner, "order.partner", v),
            "campaign" => {
                patch.refs.campaign = id_ref("campaigns", &o.campaign, "order.campaign", v)
            }
            "opportunity" => {
                patch.refs.opportunity =
                    id_ref("opportunities", &o.opportunity, "order.opportunity", v)
            }
            "lines" => patch.lines = Some(parse_lines(&o.lines, &current.currency, v)),
            "order_discount" => {
                patch.order_discount = amount_in(
                    o.order_discount.as_ref(),
                    &current.currency,
                    "order.order_discount",
                    v,
                )
            }
            "notes" => patch.notes = validate::multiline_text(v, "order.notes", &o.notes, 2000),
            _ => {}
        }
    }
    patch
}

fn store_ref(name: &str, v: &mut Violations) -> String {
    let name = name.trim();
    if name.is_empty() {
        return String::new();
    }
    match names::parse_key("stores", name) {
        Ok(key) => format!("stores/{key}"),
        Err(e) => {
            v.add("order.store", e);
            String::new()
        }
    }
}

fn id_ref(collection: &str, name: &str, field: &str, v: &mut Violations) -> String {
    if name.trim().is_empty() {
        return String::new();
    }
    id_in(collection, name, field, v)
        .map(|id| names::format_id(collection, id))
        .unwrap_or_default()
}

/// An amount that must be in `currency`; zero when absent.
fn amount_in(m: Option<&pt::Money>, currency: &str, field: &str, v: &mut Violations) -> i64 {
    let Some(m) = validate::money(v, field, m) else {
        return 0;
    };
    if m.currency_code != currency && validate::is_currency(currency) {
        v.add(
            format!("{field}.currency_code"),
            format!("must be the order's currency, {currency}"),
        );
    }
    m.minor_units
}

fn parse_lines(lines: &[pb::LineItem], currency: &str, v: &mut Violations) -> Vec<LineRequest> {
    let lines = validate::capped(v, "order.lines", lines, MAX_LINES);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let at = |f: &str| format!("order.lines[{i}].{f}");
            let sku = l.sku.trim().to_owned();
            if sku.is_empty() {
                v.add(at("sku"), "is required");
            }
            let quantity = i64::from(l.quantity);
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                v.add(at("quantity"), format!("must be 1..{MAX_QUANTITY}"));
            }
            let id = l.id.trim();
            LineRequest {
                id: (!id.is_empty()).then(|| id.to_owned()),
                sku,
                quantity,
                discount: amount_in(l.discount.as_ref(), currency, &at("discount"), v),
            }
        })
        .collect()
}

/// A payment as given; `id`, `recorded_by` and a missing `pay_time` are filled in by the
/// caller.
pub fn parse_payment(
    p: Option<&pb::Payment>,
    currency: &str,
    now: i64,
    v: &mut Violations,
) -> Option<Payment> {
    let Some(p) = p else {
        v.add("payment", "is required");
        return None;
    };
    let kind = match pb::PaymentKind::try_from(p.kind) {
        Ok(pb::PaymentKind::Deposit) => PaymentKind::Deposit,
        Ok(pb::PaymentKind::Unspecified | pb::PaymentKind::Payment) => PaymentKind::Payment,
        Err(_) => {
            v.add("payment.kind", format!("{} is not a PaymentKind", p.kind));
            PaymentKind::Payment
        }
    };
    let method = payment_method(p.method, "payment.method", v);
    let amount = amount_in(p.amount.as_ref(), currency, "payment.amount", v);
    if amount <= 0 {
        v.add("payment.amount", "is required: more than zero");
    }
    let pay_time = optional_time(p.pay_time.as_ref(), "payment.pay_time", v).unwrap_or(now);
    if pay_time > now {
        v.add("payment.pay_time", "must not be in the future");
    }
    let reference = validate::text(v, "payment.reference", &p.reference, 100);
    Some(Payment {
        id: String::new(),
        kind,
        method: method?,
        amount,
        pay_time,
        reference,
        recorded_by: String::new(),
    })
}

/// A required payment method given in `field`.
pub fn payment_method(raw: i32, field: &str, v: &mut Violations) -> Option<PaymentMethod> {
    match pb::PaymentMethod::try_from(raw) {
        Ok(pb::PaymentMethod::Cash) => Some(PaymentMethod::Cash),
        Ok(pb::PaymentMethod::Card) => Some(PaymentMethod::Card),
        Ok(pb::PaymentMethod::BankTransfer) => Some(PaymentMethod::BankTransfer),
        Ok(pb::PaymentMethod::WechatPay) => Some(PaymentMethod::WechatPay),
        Ok(pb::PaymentMethod::Alipay) => Some(PaymentMethod::Alipay),
        Ok(pb::PaymentMethod::Financing) => Some(PaymentMethod::Financing),
        Ok(pb::PaymentMethod::Other) => Some(PaymentMethod::Other),
        Ok(pb::PaymentMethod::Unspecified) => {
            v.add(field, "is required");
            None
        }
        Err(_) => {
            v.add(field, format!("{raw} is not a PaymentMethod"));
            None
        }
    }
}

/// The proto of a payment method.
pub fn payment_method_to_proto(m: PaymentMethod) -> pb::PaymentMethod {
    match m {
        PaymentMethod::Cash => pb::PaymentMethod::Cash,
        PaymentMethod::Card => pb::PaymentMethod::Card,
        PaymentMethod::BankTransfer => pb::PaymentMethod::BankTransfer,
        PaymentMethod::WechatPay => pb::PaymentMethod::WechatPay,
        PaymentMethod::Alipay => pb::PaymentMethod::Alipay,
        PaymentMethod::Financing => pb::PaymentMethod::Financing,
        PaymentMethod::Other => pb::PaymentMethod::Other,
    }
}

fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

fn state_to_proto(s: State) -> pb::OrderState {
    match s {
        State::Draft => pb::OrderState::Draft,
        State::Confirmed => pb::OrderState::Confirmed,
        State::DeliveryScheduled => pb::OrderState::DeliveryScheduled,
        State::Delivered => pb::OrderState::Delivered,
        State::Completed => pb::OrderState::Completed,
        State::Cancelled => pb::OrderState::Cancelled,
    }
}

fn payment_to_proto(currency: &str, p: &Payment) -> pb::Payment {
    pb::Payment {
        id: p.id.clone(),
        kind: match p.kind {
            PaymentKind::Deposit => pb::PaymentKind::Deposit,
            PaymentKind::Payment => pb::PaymentKind::Payment,
        }
        .into(),
        method: payment_method_to_proto(p.method).into(),
        amount: money(currency, p.amount),
        pay_time: Some(to_timestamp(p.pay_time)),
        reference: p.reference.clone(),
        recorded_by: p.recorded_by.clone(),
    }
}

/// The answer for an order.
pub fn order_to_proto(o: &Order) -> pb::Order {
    let t = o.totals();
    let c = o.currency.as_str();
    pb::Order {
        name: o.name(),
        customer: names::format_id("customers", o.customer_id),
        owner_id: o.owner_id.clone(),
        team_id: o.team_id.clone(),
        store: o.refs.store.clone(),
        partner: o.refs.partner.clone(),
        campaign: o.refs.campaign.clone(),
        coupon_code: o.coupon_code.clone(),
        opportunity: o.refs.opportunity.clone(),
        currency_code: o.currency.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| pb::LineItem {
                id: l.id.clone(),
                sku: l.sku.clone(),
                quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
                discount: money(c, l.discount),
                product: product_name(l.product_id),
                product_name: l.product_name.clone(),
                category: names::format_id("categories", l.category_id),
                unit_price: money(c, l.unit_price),
                unit_cost: money(c, l.unit_cost),
                amount: money(c, l.amount()),
                scheduled_quantity: i32::try_from(l.scheduled).unwrap_or(i32::MAX),
                delivered_quantity: i32::try_from(l.delivered).unwrap_or(i32::MAX),
                returned_quantity: i32::try_from(l.returned).unwrap_or(i32::MAX),
            })
            .collect(),
        order_discount: money(c, o.order_discount),
        subtotal: money(c, t.subtotal),
        discount_total: money(c, t.discount_total),
        total: money(c, t.total),
        paid: money(c, t.paid),
        balance_due: money(c, t.balance_due),
        payments: o.payments.iter().map(|p| payment_to_proto(c, p)).collect(),
        state: state_to_proto(o.state).into(),
        cancel_reason: o.cancel_reason.clone(),
        discount_approval: match o.approval {
            Approval::NotRequired => pb::DiscountApproval::NotRequired,
            Approval::Pending => pb::DiscountApproval::Pending,
            Approval::Approved => pb::DiscountApproval::Approved,
        }
        .into(),
        discount_approved_by: o.approved_by.clone(),
        notes: o.notes.clone(),
        revision: o.revision,
        confirm_time: o.confirm_time.map(to_timestamp),
        cancel_time: o.cancel_time.map(to_timestamp),
        create_time: Some(to_timestamp(o.create_time)),
        update_time: Some(to_timestamp(o.update_time)),
        etag: names::etag(o.id.as_bytes(), o.version),
        deliver_time: o.deliver_time.map(to_timestamp),
        follow_up: o.follow_up.as_ref().map(follow_up_to_proto),
        region: o.refs.region.clone(),
        refunded: money(c, t.refunded),
        net_total: money(c, t.net_total),
        charges: o
            .charges
            .iter()
            .map(|ch| pb::Charge {
                rule: ch.rule.clone(),
                display_name: ch.display_name.clone(),
                kind: charge_kind_to_proto(ch.kind).into(),
                base: money(c, ch.base),
                amount: money(c, ch.amount),
            })
            .collect(),
        tax_total: money(c, t.tax_total),
        fee_total: money(c, t.fee_total),
    }
}

/// The answer for a revision; `with_order` adds the order as the revision left it.
pub fn revision_to_proto(r: &Revision, with_order: bool) -> pb::OrderRevision {
    pb::OrderRevision {
        name: format!("{}/revisions/{}", r.order.name(), r.revision),
        revision: r.revision,
        kind: match r.kind {
            Kind::Created => pb::RevisionKind::Created,
            Kind::Updated => pb::RevisionKind::Updated,
            Kind::Confirmed => pb::RevisionKind::Confirmed,
            Kind::PaymentAdded => pb::RevisionKind::PaymentAdded,
            Kind::DiscountApproved => pb::RevisionKind::DiscountApproved,
            Kind::Cancelled => pb::RevisionKind::Cancelled,
            Kind::DeliveryChanged => pb::RevisionKind::DeliveryChanged,
            Kind::FollowedUp => pb::RevisionKind::FollowedUp,
            Kind::ReturnChanged => pb::RevisionKind::ReturnChanged,
        }
        .into(),
        actor: r.actor.clone(),
        create_time: Some(to_timestamp(r.create_time)),
        changes: r
            .changes
            .iter()
            .map(|c| pb::FieldChange {
                field: c.field.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
            })
            .collect(),
        order: with_order.then(|| order_to_proto(&r.order)),
    }
}
