//! Strategies (CA3): an audience, an action, a schedule and a hold-out; their lifecycle and
//! when they run next.

use rapport_kit::{names, validate::Money};
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{channel::Channel, occasion::Occasion};

/// The collection of strategies.
pub const STRATEGIES: &str = "strategies";
/// The collection of plans.
pub const PLANS: &str = "plans";
/// The collection of campaigns.
pub const CAMPAIGNS: &str = "campaigns";
/// The customers service's collection of segments.
pub const SEGMENTS: &str = "segments";

const DAY: Micros = 86_400_000_000;

/// Where a strategy is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Draft,
    Active,
    Paused,
    Archived,
}

impl State {
    /// Every state.
    pub const ALL: [State; 4] = [State::Draft, State::Active, State::Paused, State::Archived];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Active => "active",
            State::Paused => "paused",
            State::Archived => "archived",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Who a strategy is for: a saved segment, or a filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    Segment(Uuid),
    Filter(String),
}

/// A message's template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub channel: Channel,
    pub template: Template,
    pub transactional: bool,
    pub unit_cost: Option<Money>,
}

/// What a strategy does for each member it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Message(Message),
    Coupon {
        message: Message,
        value: Money,
        min_order: Option<Money>,
        valid_days: i32,
    },
}

impl Action {
    /// The message the action sends.
    pub fn message(&self) -> &Message {
        match self {
            Action::Message(m) | Action::Coupon { message: m, .. } => m,
        }
    }
}

/// A schedule: the first run, then every `every_days` days (0: once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub start: Micros,
    pub every_days: i32,
}

impl Schedule {
    /// The first run at or after `after`, counting from the start; None when a one-off
    /// schedule's only run is before `after`.
    pub fn next_at_or_after(&self, after: Micros) -> Option<Micros> {
        if after <= self.start {
            return Some(self.start);
        }
        if self.every_days <= 0 {
            return None;
        }
        let step = i64::from(self.every_days) * DAY;
        let periods = (after - self.start + step - 1) / step;
        Some(self.start + periods * step)
    }
}

/// A plan: strategies measured together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: Uuid,
    pub display_name: String,
    pub description: String,
    pub creator: String,
    pub create_time: Micros,
}

impl Plan {
    /// "plans/{id}".
    pub fn name(&self) -> String {
        names::format_id(PLANS, self.id)
    }
}

/// A strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    pub id: Uuid,
    pub display_name: String,
    pub description: String,
    pub plan_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub audience: Audience,
    pub action: Action,
    pub schedule: Schedule,
    /// For care greetings: the schedule runs daily for the members whose date it is.
    pub occasion: Option<Occasion>,
    pub control_bps: i32,
    pub state: State,
    pub budget: Option<Money>,
    /// What its actions cost so far, in the budget's currency (or the unit cost's).
    pub spent: i64,
    pub creator: String,
    pub create_time: Micros,
    pub update_time: Micros,
    pub next_run_time: Option<Micros>,
    pub version: i64,
}

/// Why a strategy refuses a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The move is not one of the lifecycle's.
    NotFrom(State, State),
    /// Only a draft or a paused strategy may be edited.
    NotEditable(State),
    /// Only an active strategy runs.
    NotActive(State),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotFrom(from, to) => write!(
                f,
                "a strategy cannot move from {} to {}",
                from.as_str(),
                to.as_str()
            ),
            Refusal::NotEditable(s) => write!(
                f,
                "a strategy is edited in draft or paused, this one is {}",
                s.as_str()
            ),
            Refusal::NotActive(s) => {
                write!(
                    f,
                    "only an active strategy runs, this one is {}",
                    s.as_str()
                )
            }
        }
    }
}

impl Strategy {
    /// "strategies/{id}".
    pub fn name(&self) -> String {
        names::format_id(STRATEGIES, self.id)
    }

    /// The budget's currency, or the unit cost's when there is no budget.
    pub fn currency(&self) -> Option<&str> {
        self.budget
            .as_ref()
            .or(self.action.message().unit_cost.as_ref())
            .map(|m| m.currency_code.as_str())
    }

    /// Whether an edit is allowed now.
    pub fn check_editable(&self) -> Result<(), Refusal> {
        match self.state {
            State::Draft | State::Paused => Ok(()),
            s => Err(Refusal::NotEditable(s)),
        }
    }

    /// Whether the strategy may run now.
    pub fn check_runs(&self) -> Result<(), Refusal> {
        match self.state {
            State::Active => Ok(()),
            s => Err(Refusal::NotActive(s)),
        }
    }

    /// Moves to `to` at `now`: activation schedules the next run (from now on: a schedule
    /// started in the past does not catch up), anything else clears it.
    pub fn change_state(&mut self, to: State, now: Micros) -> Result<(), Refusal> {
        let allowed = match (self.state, to) {
            (State::Draft | State::Paused, State::Active) => true,
            (State::Active, State::Paused) => true,
            (s, State::Archived) => s != State::Archived,
            _ => false,
        };
        if !allowed {
            return Err(Refusal::NotFrom(self.state, to));
        }
        self.state = to;
        self.next_run_time = match to {
            State::Active => self.schedule.next_at_or_after(now),
            _ => None,
        };
        Ok(())
    }

    /// After the scheduled run due at `due` was started: the one after it, if any.
    pub fn advance(&mut self, due: Micros) {
        self.next_run_time = self.schedule.next_at_or_after(due.saturating_add(1));
    }

    /// Whether `cost` more may be spent within the budget.
    pub fn affords(&self, cost: i64) -> bool {
        self.budget
            .as_ref()
            .is_none_or(|b| self.spent.saturating_add(cost) <= b.minor_units)
    }

    /// What is wrong with the strategy as a whole, by field (beyond each field's own checks).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let m = self.action.message();
        if !matches!(m.channel, Channel::Sms | Channel::Email) {
            out.push((
                "strategy.action.message.channel".into(),
                "strategies send on SMS or EMAIL".into(),
            ));
        }
        if let Action::Coupon {
            value, min_order, ..
        } = &self.action
        {
            if value.minor_units == 0 {
                out.push((
                    "strategy.action.coupon.value".into(),
                    "must be more than zero".into(),
                ));
            }
            if let Some(min) = min_order
                && min.currency_code != value.currency_code
            {
                out.push((
                    "strategy.action.coupon.min_order.currency_code".into(),
                    "must be the value's currency".into(),
                ));
            }
        }
        if let Some(o) = &self.occasion
            && !(-720..=840).contains(&o.utc_offset_minutes)
        {
            out.push((
                "strategy.trigger.occasion.utc_offset_minutes".into(),
                format!("must be -720..840, got {}", o.utc_offset_minutes),
            ));
        }
        if let (Some(budget), Some(unit)) = (&self.budget, &m.unit_cost)
            && budget.currency_code != unit.currency_code
        {
            out.push((
                "strategy.budget.currency_code".into(),
                "must be the unit cost's currency".into(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategy() -> Strategy {
        Strategy {
            id: Uuid::now_v7(),
            display_name: "Win back".into(),
            description: String::new(),
            plan_id: None,
            campaign_id: None,
            audience: Audience::Filter("value.order_count = 0".into()),
            action: Action::Message(Message {
                channel: Channel::Sms,
                template: Template {
                    text: "Hi".into(),
                    ..Template::default()
                },
                transactional: false,
                unit_cost: Some(Money {
                    currency_code: "CNY".into(),
                    minor_units: 5,
                }),
            }),
            schedule: Schedule {
                start: 10 * DAY,
                every_days: 7,
            },
            occasion: None,
            control_bps: 1000,
            state: State::Draft,
            budget: Some(Money {
                currency_code: "CNY".into(),
                minor_units: 12,
            }),
            spent: 0,
            creator: "m1".into(),
            create_time: 0,
            update_time: 0,
            next_run_time: None,
            version: 1,
        }
    }

    #[test]
    fn schedules_run_at_the_start_then_every_period() {
        let s = Schedule {
            start: 10 * DAY,
            every_days: 7,
        };
        assert_eq!(s.next_at_or_after(0), Some(10 * DAY));
        assert_eq!(s.next_at_or_after(10 * DAY), Some(10 * DAY));
        assert_eq!(s.next_at_or_after(10 * DAY + 1), Some(17 * DAY));
        assert_eq!(s.next_at_or_after(24 * DAY), Some(24 * DAY));
        let once = Schedule {
            start: 10 * DAY,
            every_days: 0,
        };
        assert_eq!(once.next_at_or_after(11 * DAY), None);
    }

    #[test]
    fn the_lifecycle_schedules_and_refuses_what_it_should() {
        let mut s = strategy();
        assert!(s.check_runs().is_err());
        s.change_state(State::Active, 12 * DAY).unwrap();
        assert_eq!(s.next_run_time, Some(17 * DAY));
        assert!(s.check_editable().is_err());
        s.advance(17 * DAY);
        assert_eq!(s.next_run_time, Some(24 * DAY));
        s.change_state(State::Paused, 18 * DAY).unwrap();
        assert_eq!(s.next_run_time, None);
        assert!(s.check_editable().is_ok());
        s.change_state(State::Archived, 19 * DAY).unwrap();
        assert_eq!(
            s.change_state(State::Active, 20 * DAY),
            Err(Refusal::NotFrom(State::Archived, State::Active))
        );
    }

    #[test]
    fn the_budget_stops_spending_and_rules_across_fields_are_named() {
        let mut s = strategy();
        assert!(s.affords(12));
        s.spent = 10;
        assert!(!s.affords(5));
        assert!(s.problems().is_empty());
        s.action = Action::Message(Message {
            channel: Channel::Email,
            template: Template::default(),
            transactional: false,
            unit_cost: Some(Money {
                currency_code: "USD".into(),
                minor_units: 1,
            }),
        });
        let fields: Vec<String> = s.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["strategy.budget.currency_code"]);
    }
}
