//! Revisions: every change of an order is kept as an immutable revision with who made it,
//! when, the fields that changed and the order as it became. The difference is computed on a
//! flat view of the order (one entry per field, lines and payments by id), so it names exactly
//! what a person would: "lines[…].quantity: 1 → 2".

use std::collections::BTreeMap;

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::order::{Approval, Order, PaymentKind, PaymentMethod};

/// What made a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Created,
    Updated,
    Confirmed,
    PaymentAdded,
    DiscountApproved,
    Cancelled,
    DeliveryChanged,
    FollowedUp,
    ReturnChanged,
}

impl Kind {
    /// The stored form; also the event's kind after "order.".
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Updated => "updated",
            Kind::Confirmed => "confirmed",
            Kind::PaymentAdded => "payment_added",
            Kind::DiscountApproved => "discount_approved",
            Kind::Cancelled => "cancelled",
            Kind::DeliveryChanged => "delivery_changed",
            Kind::FollowedUp => "followed_up",
            Kind::ReturnChanged => "return_changed",
        }
    }

    /// The kind of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Kind::Created,
            Kind::Updated,
            Kind::Confirmed,
            Kind::PaymentAdded,
            Kind::DiscountApproved,
            Kind::Cancelled,
            Kind::DeliveryChanged,
            Kind::FollowedUp,
            Kind::ReturnChanged,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One changed field, as text; empty when absent on that side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// An immutable revision of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub revision: i64,
    pub kind: Kind,
    pub actor: String,
    pub create_time: Micros,
    pub changes: Vec<FieldChange>,
    pub order: Order,
}

impl Revision {
    /// The revision `after` is, made by `actor` from `before` (none for a new order).
    pub fn of(kind: Kind, actor: &str, before: Option<&Order>, after: &Order) -> Self {
        Revision {
            revision: after.revision,
            kind,
            actor: actor.to_owned(),
            create_time: after.update_time,
            changes: diff(before, after),
            order: after.clone(),
        }
    }
}

/// The fields that differ between `before` (none: an empty order) and `after`, in field order.
pub fn diff(before: Option<&Order>, after: &Order) -> Vec<FieldChange> {
    let old = before.map(flatten).unwrap_or_default();
    let new = flatten(after);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            before: old.get(k).cloned().unwrap_or_default(),
            after: new.get(k).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The order as field → value, leaving out empty values and what only follows from others
/// (totals, times, versions).
fn flatten(o: &Order) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: String, v: String| {
        if !v.is_empty() {
            m.insert(k, v);
        }
    };
    put("customer".into(), o.customer_id.to_string());
    put("owner_id".into(), o.owner_id.clone());
    put("team_id".into(), o.team_id.clone());
    put("store".into(), o.refs.store.clone());
    put("region".into(), o.refs.region.clone());
    put("partner".into(), o.refs.partner.clone());
    put("campaign".into(), o.refs.campaign.clone());
    put("coupon_code".into(), o.coupon_code.clone());
    put("opportunity".into(), o.refs.opportunity.clone());
    put("currency_code".into(), o.currency.clone());
    put("state".into(), o.state.as_str().into());
    put("cancel_reason".into(), o.cancel_reason.clone());
    put("notes".into(), o.notes.clone());
    put("order_discount".into(), nonzero(o.order_discount));
    put("refunded".into(), nonzero(o.refunded));
    put("discount_approval".into(), approval(o.approval).into());
    put("discount_approved_by".into(), o.approved_by.clone());
    for l in &o.lines {
        let at = |f: &str| format!("lines[{}].{f}", l.id);
        put(at("sku"), l.sku.clone());
        put(at("quantity"), l.quantity.to_string());
        put(at("unit_price"), l.unit_price.to_string());
        put(at("discount"), nonzero(l.discount));
        put(at("scheduled"), nonzero(l.scheduled));
        put(at("delivered"), nonzero(l.delivered));
        put(at("returned"), nonzero(l.returned));
    }
    for c in &o.charges {
        put(format!("charges[{}]", c.rule), c.amount.to_string());
    }
    if let Some(f) = &o.follow_up {
        put(
            "follow_up.satisfaction".into(),
            nonzero(i64::from(f.satisfaction)),
        );
        put("follow_up.notes".into(), f.notes.clone());
    }
    for p in &o.payments {
        put(
            format!("payments[{}]", p.id),
            format!(
                "{} {} by {}{}",
                payment_kind(p.kind),
                p.amount,
                payment_method(p.method),
                if p.reference.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", p.reference)
                }
            ),
        );
    }
    m
}

fn nonzero(n: i64) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

fn approval(a: Approval) -> &'static str {
    match a {
        Approval::NotRequired => "",
        Approval::Pending => "PENDING",
        Approval::Approved => "APPROVED",
    }
}

fn payment_kind(k: PaymentKind) -> &'static str {
    match k {
        PaymentKind::Deposit => "DEPOSIT",
        PaymentKind::Payment => "PAYMENT",
    }
}

fn payment_method(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "CASH",
        PaymentMethod::Card => "CARD",
        PaymentMethod::BankTransfer => "BANK_TRANSFER",
        PaymentMethod::WechatPay => "WECHAT_PAY",
        PaymentMethod::Alipay => "ALIPAY",
        PaymentMethod::Financing => "FINANCING",
        PaymentMethod::Other => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{Line, State};
    use uuid::Uuid;

    fn order() -> Order {
        let mut o = Order::draft(Uuid::nil(), "rep-1".into(), String::new(), "CNY".into(), 0);
        o.lines.push(Line {
            id: "l1".into(),
            sku: "SOFA".into(),
            quantity: 1,
            discount: 0,
            product_id: Uuid::nil(),
            product_name: "Sofa".into(),
            category_id: Uuid::nil(),
            unit_price: 500,
            unit_cost: 200,
            scheduled: 0,
            delivered: 0,
            returned: 0,
            area_milli: None,
        });
        o
    }

    fn fields(changes: &[FieldChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}: {:?} -> {:?}", c.field, c.before, c.after))
            .collect()
    }

    #[test]
    fn a_new_order_lists_what_it_was_given() {
        let changes = diff(None, &order());
        assert!(changes.iter().all(|c| c.before.is_empty()));
        assert!(changes.iter().any(|c| c.field == "lines[l1].sku"));
        assert!(!changes.iter().any(|c| c.field == "order_discount"));
    }

    #[test]
    fn a_change_names_only_what_changed() {
        let before = order();
        let mut after = before.clone();
        after.lines[0].quantity = 2;
        after.order_discount = 50;
        after.state = State::Confirmed;
        after.revision = 2;
        after.version = 2;
        assert_eq!(
            fields(&diff(Some(&before), &after)),
            [
                "lines[l1].quantity: \"1\" -> \"2\"",
                "order_discount: \"\" -> \"50\"",
                "state: \"DRAFT\" -> \"CONFIRMED\"",
            ]
        );
        let mut gone = after.clone();
        gone.lines.clear();
        assert!(
            diff(Some(&after), &gone)
                .iter()
                .all(|c| c.after.is_empty() && c.field.starts_with("lines[l1]"))
        );
    }
}
