//! Returns and exchanges (OR4) of delivered units. What a return does to its order's lines and
//! amounts is the order's business ([`super::order::Order::reserve_return`] and the like);
//! this is the return itself and its steps.

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::order::{LinePart, ORDERS, PaymentMethod};

/// The collection of an order's returns.
pub const RETURNS: &str = "returns";

/// "orders/{order}/returns/{id}".
pub fn return_name(order: Uuid, id: Uuid) -> String {
    names::format_child_id(ORDERS, order, RETURNS, id)
}

/// Money back or goods back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnKind {
    Return,
    Exchange,
}

/// Where a return is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnState {
    Requested,
    Approved,
    Rejected,
    Received,
    Refunded,
    Replaced,
}

impl ReturnState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnState::Requested => "REQUESTED",
            ReturnState::Approved => "APPROVED",
            ReturnState::Rejected => "REJECTED",
            ReturnState::Received => "RECEIVED",
            ReturnState::Refunded => "REFUNDED",
            ReturnState::Replaced => "REPLACED",
        }
    }
}

/// A return or exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    pub id: Uuid,
    pub order_id: Uuid,
    pub kind: ReturnKind,
    pub lines: Vec<LinePart>,
    pub reason: String,
    pub ticket: String,
    pub state: ReturnState,
    pub reject_reason: String,
    /// The most a refund gives back: the returned units' share of their lines' amounts.
    pub value: i64,
    pub refund: i64,
    pub refund_method: Option<PaymentMethod>,
    pub decided_by: String,
    pub decide_time: Option<Micros>,
    pub receive_time: Option<Micros>,
    pub complete_time: Option<Micros>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

/// A step of a return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject {
        reason: String,
    },
    Receive,
    /// `amount` none: the return's value.
    Refund {
        amount: Option<i64>,
        method: PaymentMethod,
    },
    Replace,
}

impl Step {
    /// The step's name in events: `return.<name>`.
    pub fn event(&self) -> &'static str {
        match self {
            Step::Approve => "approved",
            Step::Reject { .. } => "rejected",
            Step::Receive => "received",
            Step::Refund { .. } => "refunded",
            Step::Replace => "replaced",
        }
    }
}

/// Why a return refuses a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not from this state (or not for this kind).
    State(ReturnState, ReturnKind),
    /// A refund above the value.
    TooMuch { value: i64 },
}

impl Return {
    /// "orders/{order}/returns/{id}".
    pub fn name(&self) -> String {
        return_name(self.order_id, self.id)
    }

    /// Takes `step` by `by` at `now`.
    pub fn take(&mut self, step: &Step, by: &str, now: Micros) -> Result<(), Refused> {
        let wrong = Refused::State(self.state, self.kind);
        match (step, self.state, self.kind) {
            (Step::Approve, ReturnState::Requested, _) => {
                self.state = ReturnState::Approved;
                self.decided_by = by.to_owned();
                self.decide_time = Some(now);
            }
            (Step::Reject { reason }, ReturnState::Requested, _) => {
                self.state = ReturnState::Rejected;
                self.reject_reason = reason.clone();
                self.decided_by = by.to_owned();
                self.decide_time = Some(now);
            }
            (Step::Receive, ReturnState::Approved, _) => {
                self.state = ReturnState::Received;
                self.receive_time = Some(now);
            }
            (Step::Refund { amount, method }, ReturnState::Received, ReturnKind::Return) => {
                let amount = amount.unwrap_or(self.value);
                if amount > self.value {
                    return Err(Refused::TooMuch { value: self.value });
                }
                self.state = ReturnState::Refunded;
                self.refund = amount;
                self.refund_method = Some(*method);
                self.complete_time = Some(now);
            }
            (Step::Replace, ReturnState::Received, ReturnKind::Exchange) => {
                self.state = ReturnState::Replaced;
                self.complete_time = Some(now);
            }
            _ => return Err(wrong),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(kind: ReturnKind) -> Return {
        Return {
            id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            kind,
            lines: vec![LinePart {
                line_id: "l1".into(),
                quantity: 1,
            }],
            reason: "Scratched".into(),
            ticket: String::new(),
            state: ReturnState::Requested,
            reject_reason: String::new(),
            value: 1_000,
            refund: 0,
            refund_method: None,
            decided_by: String::new(),
            decide_time: None,
            receive_time: None,
            complete_time: None,
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    #[test]
    fn a_return_goes_requested_approved_received_refunded() {
        let mut r = ret(ReturnKind::Return);
        let refund = Step::Refund {
            amount: Some(1_001),
            method: PaymentMethod::Alipay,
        };
        assert!(matches!(r.take(&refund, "m", 1), Err(Refused::State(..))));
        r.take(&Step::Approve, "mgr", 1).unwrap();
        assert!(r.take(&Step::Approve, "mgr", 1).is_err());
        r.take(&Step::Receive, "rep", 2).unwrap();
        assert!(
            r.take(&Step::Replace, "mgr", 3).is_err(),
            "a return is not replaced"
        );
        assert_eq!(
            r.take(&refund, "mgr", 3),
            Err(Refused::TooMuch { value: 1_000 })
        );
        let all = Step::Refund {
            amount: None,
            method: PaymentMethod::Alipay,
        };
        r.take(&all, "mgr", 3).unwrap();
        assert_eq!((r.state, r.refund), (ReturnState::Refunded, 1_000));
    }

    #[test]
    fn an_exchange_is_replaced_and_a_rejection_ends_it() {
        let mut r = ret(ReturnKind::Exchange);
        r.take(&Step::Approve, "mgr", 1).unwrap();
        r.take(&Step::Receive, "rep", 2).unwrap();
        r.take(&Step::Replace, "mgr", 3).unwrap();
        assert_eq!(r.state, ReturnState::Replaced);
        let mut no = ret(ReturnKind::Return);
        no.take(
            &Step::Reject {
                reason: "Worn by use".into(),
            },
            "mgr",
            1,
        )
        .unwrap();
        assert_eq!(no.state, ReturnState::Rejected);
        assert!(no.take(&Step::Receive, "rep", 2).is_err());
    }
}
