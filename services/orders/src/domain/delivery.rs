//! Deliveries (OR3): appointments of some of an order's lines, moved, made with proof or
//! called off. What a delivery does to its order's lines is the order's business
//! ([`super::order::Order::book`] and the like); this is the appointment itself.

use rapport_kit::names;
use rapport_runtime::clock::{HOUR, Micros};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::order::{LinePart, ORDERS};

/// The collection of an order's deliveries.
pub const DELIVERIES: &str = "deliveries";
/// Photo URLs of a proof, at most.
pub const MAX_PHOTOS: usize = 20;

/// "orders/{order}/deliveries/{id}".
pub fn delivery_name(order: Uuid, id: Uuid) -> String {
    names::format_child_id(ORDERS, order, DELIVERIES, id)
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Scheduled,
    Delivered,
    Cancelled,
}

impl DeliveryState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Scheduled => "SCHEDULED",
            DeliveryState::Delivered => "DELIVERED",
            DeliveryState::Cancelled => "CANCELLED",
        }
    }
}

/// What proves a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub signed_by: String,
    pub sign_time: Micros,
    pub notes: String,
    pub photo_urls: Vec<String>,
}

/// A delivery appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub order_id: Uuid,
    pub lines: Vec<LinePart>,
    pub window_start: Micros,
    pub window_end: Micros,
    pub address: String,
    pub crew: String,
    pub installation: bool,
    pub state: DeliveryState,
    pub reschedule_count: i32,
    /// Why it last moved.
    pub reschedule_reason: String,
    pub proof: Option<Proof>,
    pub installed: bool,
    pub deliver_time: Option<Micros>,
    pub cancel_reason: String,
    /// When the reminder is due: `reminder_hours` before the window as it was booked.
    pub remind_time: Micros,
    /// Reminders fired: one per window.
    #[serde(default)]
    pub reminders_sent: i32,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

/// A window the caller asks for, before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Micros,
    pub end: Micros,
}

impl Window {
    /// Why the window cannot be booked at `now`, if it cannot.
    pub fn problem(&self, now: Micros) -> Option<&'static str> {
        if self.end <= self.start {
            Some("must end after it starts")
        } else if self.end <= now {
            Some("must end in the future")
        } else {
            None
        }
    }

    /// When the reminder of this window is due.
    pub fn remind_time(&self, reminder_hours: i32) -> Micros {
        self.start - i64::from(reminder_hours) * HOUR
    }
}

/// Why a delivery refuses a change: it is no longer scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotScheduled(pub DeliveryState);

impl Delivery {
    /// "orders/{order}/deliveries/{id}".
    pub fn name(&self) -> String {
        delivery_name(self.order_id, self.id)
    }

    fn check_scheduled(&self) -> Result<(), NotScheduled> {
        if self.state == DeliveryState::Scheduled {
            Ok(())
        } else {
            Err(NotScheduled(self.state))
        }
    }

    /// Moves the appointment; its reminder is due again for the new window.
    pub fn reschedule(
        &mut self,
        window: Window,
        reason: &str,
        reminder_hours: i32,
    ) -> Result<(), NotScheduled> {
        self.check_scheduled()?;
        self.reschedule_reason = reason.to_owned();
        self.window_start = window.start;
        self.window_end = window.end;
        self.remind_time = window.remind_time(reminder_hours);
        self.reschedule_count += 1;
        Ok(())
    }

    /// Records it delivered with `proof`.
    pub fn complete(
        &mut self,
        proof: Proof,
        installed: bool,
        now: Micros,
    ) -> Result<(), NotScheduled> {
        self.check_scheduled()?;
        self.state = DeliveryState::Delivered;
        self.proof = Some(proof);
        self.installed = installed;
        self.deliver_time = Some(now);
        Ok(())
    }

    /// Calls it off.
    pub fn cancel(&mut self, reason: &str) -> Result<(), NotScheduled> {
        self.check_scheduled()?;
        self.state = DeliveryState::Cancelled;
        self.cancel_reason = reason.to_owned();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            id: Uuid::now_v7(),
            order_id: Uuid::now_v7(),
            lines: vec![LinePart {
                line_id: "l1".into(),
                quantity: 1,
            }],
            window_start: 10 * HOUR,
            window_end: 12 * HOUR,
            address: "1 Garden Road".into(),
            crew: String::new(),
            installation: true,
            state: DeliveryState::Scheduled,
            reschedule_count: 0,
            reschedule_reason: String::new(),
            proof: None,
            installed: false,
            deliver_time: None,
            cancel_reason: String::new(),
            remind_time: 0,
            reminders_sent: 0,
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    #[test]
    fn a_window_ends_after_it_starts_and_in_the_future() {
        let w = Window {
            start: 10 * HOUR,
            end: 12 * HOUR,
        };
        assert_eq!(w.problem(0), None);
        assert!(w.problem(12 * HOUR).is_some());
        assert!(Window { start: 5, end: 5 }.problem(0).is_some());
        assert_eq!(w.remind_time(24), 10 * HOUR - 24 * HOUR);
    }

    #[test]
    fn only_a_scheduled_delivery_moves_completes_or_cancels() {
        let mut d = delivery();
        let later = Window {
            start: 20 * HOUR,
            end: 22 * HOUR,
        };
        d.reschedule(later, "the lift is out of order", 2).unwrap();
        assert_eq!((d.reschedule_count, d.remind_time), (1, 18 * HOUR));
        let proof = Proof {
            signed_by: "Wang Fang".into(),
            sign_time: 21 * HOUR,
            notes: String::new(),
            photo_urls: Vec::new(),
        };
        d.complete(proof.clone(), true, 21 * HOUR).unwrap();
        assert_eq!(d.state, DeliveryState::Delivered);
        assert_eq!(
            d.cancel("late"),
            Err(NotScheduled(DeliveryState::Delivered))
        );
        assert_eq!(
            d.reschedule(later, "", 2),
            Err(NotScheduled(DeliveryState::Delivered))
        );
    }
}
