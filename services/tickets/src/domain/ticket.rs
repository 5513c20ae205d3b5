//! A service ticket (TK1) and its workflow (TK5): which state follows which, and what each step
//! does to the SLA clocks and the assignee's capacity. The decisions are here; loading,
//! routing and writing are the use cases'.

use std::collections::BTreeMap;

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    calendar::Calendar,
    sla::{Sla, TargetKind},
};

/// The collection of tickets in names.
pub const TICKETS: &str = "tickets";

/// "tickets/{id}".
pub fn ticket_name(id: Uuid) -> String {
    names::format_id(TICKETS, id)
}

/// The built-in ticket types, and whether each is a complaint.
pub const BUILT_IN_TYPES: [(&str, bool); 7] = [
    ("business_inquiry", false),
    ("price_inquiry", false),
    ("product_complaint", true),
    ("service_complaint", true),
    ("service_request", false),
    (RETURN_REQUEST, false),
    (EXCHANGE_REQUEST, false),
];

/// The type of a request to return goods.
pub const RETURN_REQUEST: &str = "return_request";
/// The type of a request to exchange goods.
pub const EXCHANGE_REQUEST: &str = "exchange_request";

/// Whether `key` is a built-in type.
pub fn is_built_in(key: &str) -> bool {
    BUILT_IN_TYPES.iter().any(|(k, _)| *k == key)
}

/// How urgent a ticket is, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Normal => "NORMAL",
            Self::High => "HIGH",
            Self::Urgent => "URGENT",
        }
    }

    /// The rank stored for sorting (LOW = 1 … URGENT = 4).
    pub fn rank(self) -> i64 {
        self as i64 + 1
    }

    /// One step up; URGENT stays URGENT.
    pub fn raised(self) -> Self {
        match self {
            Self::Low => Self::Normal,
            Self::Normal => Self::High,
            Self::High | Self::Urgent => Self::Urgent,
        }
    }
}

/// Where a ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Phone,
    Store,
    Im,
    Email,
    Web,
    Partner,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Self::Phone,
        Self::Store,
        Self::Im,
        Self::Email,
        Self::Web,
        Self::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "PHONE",
            Self::Store => "STORE",
            Self::Im => "IM",
            Self::Email => "EMAIL",
            Self::Web => "WEB",
            Self::Partner => "PARTNER",
        }
    }
}

/// Where a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    New,
    Open,
    PendingCustomer,
    PendingThirdParty,
    Escalated,
    Resolved,
    Closed,
    Reopened,
}

impl State {
    pub const ALL: [State; 8] = [
        Self::New,
        Self::Open,
        Self::PendingCustomer,
        Self::PendingThirdParty,
        Self::Escalated,
        Self::Resolved,
        Self::Closed,
        Self::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Open => "OPEN",
            Self::PendingCustomer => "PENDING_CUSTOMER",
            Self::PendingThirdParty => "PENDING_THIRD_PARTY",
            Self::Escalated => "ESCALATED",
            Self::Resolved => "RESOLVED",
            Self::Closed => "CLOSED",
            Self::Reopened => "REOPENED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether work on the ticket goes on (it holds a place of its assignee's capacity).
    pub fn is_active(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    /// Whether the SLA clocks stand still: the ticket waits for someone else.
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::PendingCustomer | Self::PendingThirdParty)
    }
}

/// A quantity of an order line to return or exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub line_id: String,
    pub quantity: i64,
}

/// The customer's answer to the survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Satisfaction {
    pub score: i32,
    pub comment: String,
    pub answer_time: Micros,
}

/// A service ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub ticket_type: String,
    pub subject: String,
    pub description: String,
    pub priority: Priority,
    pub channel: Channel,
    pub customer_id: Uuid,
    pub order_id: Option<Uuid>,
    pub order_lines: Vec<String>,
    pub return_lines: Vec<ReturnLine>,
    pub category: String,
    pub store: String,
    pub tags: Vec<String>,
    pub fields: BTreeMap<String, String>,
    /// The queue's id; empty only while no queue exists for it.
    pub queue_id: String,
    /// The agent holding it (a place of its capacity while the ticket is active); empty while
    /// it waits for room.
    pub assignee: String,
    pub team_id: String,
    pub routing_reason: String,
    /// The supervisor it was escalated to, if any.
    pub escalated_to: String,
    pub state: State,
    pub sla: Option<Sla>,
    pub escalation_level: i32,
    pub customer_grade: String,
    /// The escalations that fired: "rule / target / cycle", so each fires once.
    pub fired: Vec<String>,
    pub return_name: String,
    pub return_state: String,
    pub merged_into: Option<Uuid>,
    pub reopen_count: i32,
    pub satisfaction: Option<Satisfaction>,
    pub first_response_time: Option<Micros>,
    pub resolve_time: Option<Micros>,
    pub resolved_by: String,
    pub close_time: Option<Micros>,
    pub creator_id: String,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

/// Why the workflow refuses a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No step from this state to that one.
    Step { from: State, to: State },
    /// Reopening after the tenant's window.
    ReopenWindow { days: i32 },
    /// A merged ticket stays closed.
    Merged,
}

/// What a step did besides the state, for the use case to carry out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    /// The assignee's place is free again (the ticket left the active states).
    pub release: bool,
    /// The ticket is active again and needs a place (reopened).
    pub reclaim: bool,
    /// The survey goes out (resolved).
    pub survey: bool,
}

impl Ticket {
    pub fn name(&self) -> String {
        ticket_name(self.id)
    }

    /// Whether the ticket's SLA resolution target was ever breached, or any target was.
    pub fn sla_breached(&self) -> bool {
        self.sla
            .as_ref()
            .is_some_and(|s| s.targets.iter().any(|t| t.breached))
    }

    /// When the SLA sweep must next look at the ticket.
    pub fn sla_check(&self) -> Option<Micros> {
        self.sla.as_ref().and_then(Sla::next_check)
    }

    /// Moves the ticket to `to` at `now`: checks the step, pauses or resumes the SLA clocks on
    /// `cal`, meets the resolution target on resolve and reopens it on reopen.
    pub fn step(
        &mut self,
        to: State,
        cal: &Calendar,
        now: Micros,
        actor: &str,
        reopen_window_days: i32,
    ) -> Result<Effects, Refusal> {
        let from = self.state;
        if self.merged_into.is_some() {
            return Err(Refusal::Merged);
        }
        let allowed = match to {
            State::Open | State::PendingCustomer | State::PendingThirdParty | State::Escalated => {
                from.is_active() && from != to
            }
            State::Resolved => from.is_active(),
            State::Closed => from != State::Closed,
            State::Reopened => matches!(from, State::Resolved | State::Closed),
            State::New => false,
        };
        if !allowed {
            return Err(Refusal::Step { from, to });
        }
        if to == State::Reopened {
            let resolved = self.resolve_time.or(self.close_time).unwrap_or(now);
            let window = i64::from(reopen_window_days) * 86_400_000_000;
            if now - resolved > window {
                return Err(Refusal::ReopenWindow {
                    days: reopen_window_days,
                });
            }
        }
        let mut effects = Effects::default();
        if let Some(sla) = self.sla.as_mut() {
            if to.is_waiting() && !from.is_waiting() {
                sla.pause(cal, now);
            } else if from.is_waiting() && !to.is_waiting() {
                sla.resume(cal, now);
            }
            match to {
                State::Resolved => {
                    // Resolving answers the customer too.
                    sla.meet(TargetKind::NextResponse, cal, now);
                    sla.meet(TargetKind::Resolution, cal, now);
                }
                State::Closed if from.is_active() => sla.stop(cal, now),
                State::Reopened => sla.reopen(TargetKind::Resolution, cal, now),
                _ => {}
            }
        }
        match to {
            State::Resolved => {
                self.resolve_time = Some(now);
                self.resolved_by = actor.to_owned();
                effects.survey = true;
            }
            State::Closed => self.close_time = Some(now),
            State::Reopened => {
                self.reopen_count += 1;
                self.close_time = None;
                effects.reclaim = true;
            }
            _ => {}
        }
        effects.release = from.is_active() && !to.is_active() && !self.assignee.is_empty();
        self.state = to;
        Ok(effects)
    }

    /// An agent's public answer at `now`: meets the first and next responses; a NEW ticket
    /// becomes OPEN. Returns whether it was the first response.
    pub fn respond(&mut self, cal: &Calendar, now: Micros) -> bool {
        let first = self.first_response_time.is_none();
        if first {
            self.first_response_time = Some(now);
        }
        if let Some(sla) = self.sla.as_mut() {
            sla.meet(TargetKind::FirstResponse, cal, now);
            sla.meet(TargetKind::NextResponse, cal, now);
        }
        if self.state == State::New {
            self.state = State::Open;
        }
        first
    }

    /// The customer wrote at `now`: a ticket waiting for the customer is worked on again, and
    /// once answered before, the next-response clock starts over.
    pub fn customer_wrote(&mut self, cal: &Calendar, now: Micros) {
        let answered = self.first_response_time.is_some();
        if let Some(sla) = self.sla.as_mut() {
            if self.state == State::PendingCustomer {
                sla.resume(cal, now);
            }
            if answered && self.state.is_active() {
                sla.restart(TargetKind::NextResponse, cal, now);
            }
        }
        if self.state == State::PendingCustomer {
            self.state = State::Open;
        }
    }

    /// Whether a return or exchange may be created from it.
    pub fn is_return_request(&self) -> bool {
        self.ticket_type == RETURN_REQUEST || self.ticket_type == EXCHANGE_REQUEST
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// A NEW ticket created at `now` without an SLA.
    pub fn sample(now: Micros) -> Ticket {
        Ticket {
            id: Uuid::now_v7(),
            ticket_type: "product_complaint".into(),
            subject: "Sofa arrived scratched".into(),
            description: String::new(),
            priority: Priority::Normal,
            channel: Channel::Store,
            customer_id: Uuid::now_v7(),
            order_id: None,
            order_lines: vec![],
            return_lines: vec![],
            category: "delivery damage".into(),
            store: String::new(),
            tags: vec![],
            fields: BTreeMap::new(),
            queue_id: "q".into(),
            assignee: "agent-1".into(),
            team_id: "t".into(),
            routing_reason: String::new(),
            escalated_to: String::new(),
            state: State::New,
            sla: None,
            escalation_level: 0,
            customer_grade: String::new(),
            fired: vec![],
            return_name: String::new(),
            return_state: String::new(),
            merged_into: None,
            reopen_count: 0,
            satisfaction: None,
            first_response_time: None,
            resolve_time: None,
            resolved_by: String::new(),
            close_time: None,
            creator_id: "agent-1".into(),
            create_time: now,
            update_time: now,
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{tests_support::sample, *};

    const DAY: Micros = 86_400_000_000;

    #[test]
    fn the_workflow_allows_its_steps_only() {
        let cal = Calendar::always();
        let mut t = sample(0);
        assert_eq!(
            t.step(State::Reopened, &cal, 1, "a", 7),
            Err(Refusal::Step {
                from: State::New,
                to: State::Reopened
            })
        );
        t.step(State::PendingCustomer, &cal, 1, "a", 7).unwrap();
        let e = t.step(State::Resolved, &cal, 2, "a", 7).unwrap();
        assert!(e.release && e.survey);
        assert_eq!(t.resolve_time, Some(2));
        let e = t.step(State::Reopened, &cal, 3, "a", 7).unwrap();
        assert!(e.reclaim && !e.release);
        assert_eq!(t.reopen_count, 1);
        t.step(State::Closed, &cal, 4, "a", 7).unwrap();
        assert_eq!(
            t.step(State::Reopened, &cal, 2 + 8 * DAY, "a", 7),
            Err(Refusal::ReopenWindow { days: 7 })
        );
        t.merged_into = Some(Uuid::nil());
        assert_eq!(
            t.step(State::Reopened, &cal, 5, "a", 7),
            Err(Refusal::Merged)
        );
    }

    #[test]
    fn a_response_opens_a_new_ticket_and_a_customer_reply_resumes_it() {
        let cal = Calendar::always();
        let mut t = sample(0);
        assert!(t.respond(&cal, 10));
        assert_eq!(t.state, State::Open);
        assert!(!t.respond(&cal, 11));
        t.step(State::PendingCustomer, &cal, 12, "a", 7).unwrap();
        t.customer_wrote(&cal, 13);
        assert_eq!(t.state, State::Open);
    }

    #[test]
    fn priority_rises_to_urgent_and_stays() {
        assert_eq!(Priority::Low.raised(), Priority::Normal);
        assert_eq!(Priority::Urgent.raised(), Priority::Urgent);
    }
}
