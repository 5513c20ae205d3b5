//! Returns and exchanges: parsing what a caller sends and building answers.

use rapport_kit::{names, validate};
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use super::{
    delivery::parse_parts,
    order::{payment_method, payment_method_to_proto},
};
use crate::domain::{
    order::{LinePart, PaymentMethod},
    returns::{Return, ReturnKind, ReturnState},
};

/// Characters of a reason, at most.
pub const MAX_REASON: usize = 1000;

/// What RequestReturn asks for, parsed.
pub struct NewReturn {
    pub kind: ReturnKind,
    pub lines: Vec<LinePart>,
    pub reason: String,
    pub ticket: String,
}

/// Parses a new return, reporting every bad field under `return.`.
pub fn parse_new_return(r: Option<&pb::Return>, v: &mut Violations) -> NewReturn {
    let default = pb::Return::default();
    let r = r.unwrap_or_else(|| {
        v.add("return", "is required");
        &default
    });
    let kind = match pb::ReturnKind::try_from(r.kind) {
        Ok(pb::ReturnKind::Return) => ReturnKind::Return,
        Ok(pb::ReturnKind::Exchange) => ReturnKind::Exchange,
        _ => {
            v.add("return.kind", "is required: RETURN or EXCHANGE");
            ReturnKind::Return
        }
    };
    let lines = parse_parts(&r.lines, "return", v);
    let ticket = if r.ticket.trim().is_empty() {
        String::new()
    } else {
        match names::parse_id("tickets", r.ticket.trim()) {
            Ok(id) => names::format_id("tickets", id),
            Err(e) => {
                v.add("return.ticket", e);
                String::new()
            }
        }
    };
    NewReturn {
        kind,
        lines,
        reason: validate::required_text(v, "return.reason", &r.reason, MAX_REASON),
        ticket,
    }
}

/// The refund a caller asks for: an amount in `currency` (none: the return's value) and a
/// method.
pub fn parse_refund(
    amount: Option<&pt::Money>,
    method: i32,
    currency: &str,
    v: &mut Violations,
) -> (Option<i64>, PaymentMethod) {
    let amount = validate::money(v, "amount", amount).map(|m| {
        if m.currency_code != currency {
            v.add(
                "amount.currency_code",
                format!("must be the order's currency, {currency}"),
            );
        }
        if m.minor_units == 0 {
            v.add("amount.minor_units", "must be more than zero");
        }
        m.minor_units
    });
    let method = payment_method(method, "method", v).unwrap_or(PaymentMethod::Other);
    (amount, method)
}

/// The answer for a return, amounts in `currency`.
pub fn return_to_proto(r: &Return, currency: &str) -> pb::Return {
    let money = |minor_units| {
        Some(pt::Money {
            currency_code: currency.to_owned(),
            minor_units,
        })
    };
    pb::Return {
        name: r.name(),
        kind: match r.kind {
            ReturnKind::Return => pb::ReturnKind::Return,
            ReturnKind::Exchange => pb::ReturnKind::Exchange,
        }
        .into(),
        lines: r
            .lines
            .iter()
            .map(|l| pb::DeliveryLine {
                line_id: l.line_id.clone(),
                quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
            })
            .collect(),
        reason: r.reason.clone(),
        ticket: r.ticket.clone(),
        state: match r.state {
            ReturnState::Requested => pb::ReturnState::Requested,
            ReturnState::Approved => pb::ReturnState::Approved,
            ReturnState::Rejected => pb::ReturnState::Rejected,
            ReturnState::Received => pb::ReturnState::Received,
            ReturnState::Refunded => pb::ReturnState::Refunded,
            ReturnState::Replaced => pb::ReturnState::Replaced,
        }
        .into(),
        reject_reason: r.reject_reason.clone(),
        value: money(r.value),
        refund: money(r.refund),
        refund_method: r
            .refund_method
            .map(payment_method_to_proto)
            .unwrap_or_default()
            .into(),
        decided_by: r.decided_by.clone(),
        decide_time: r.decide_time.map(to_timestamp),
        receive_time: r.receive_time.map(to_timestamp),
        complete_time: r.complete_time.map(to_timestamp),
        create_time: Some(to_timestamp(r.create_time)),
        update_time: Some(to_timestamp(r.update_time)),
        etag: names::etag(r.id.as_bytes(), r.version),
    }
}
