//! The tenant's ticket settings: its own ticket types, routing rules, business calendars, SLA
//! policies, escalation rules, the reopen window and the survey's validity.

use chrono::NaiveDate;
use rapport_kit::fields::CustomFieldDef;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::{
    calendar::{Calendar, Interval},
    sla::{SlaState, TargetKind, Targets},
    ticket::{BUILT_IN_TYPES, Channel, Priority, Ticket},
};

/// The settings' resource name.
pub const SETTINGS_NAME: &str = "ticketSettings";

/// A tenant-defined ticket type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketType {
    pub key: String,
    pub display_name: String,
    pub fields: Vec<CustomFieldDef>,
    pub complaint: bool,
}

/// Conditions on a ticket; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conditions {
    pub types: Vec<String>,
    pub priorities: Vec<Priority>,
    pub channels: Vec<Channel>,
    pub customer_grades: Vec<String>,
    pub tags: Vec<String>,
}

impl Conditions {
    /// Whether every condition holds for `t`.
    pub fn matches(&self, t: &Ticket) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.types, &t.ticket_type)
            && (self.priorities.is_empty() || self.priorities.contains(&t.priority))
            && (self.channels.is_empty() || self.channels.contains(&t.channel))
            && any(&self.customer_grades, &t.customer_grade)
            && (self.tags.is_empty() || self.tags.iter().any(|x| t.tags.contains(x)))
    }
}

/// Sends matching tickets to a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    pub display_name: String,
    pub conditions: Conditions,
    pub queue_id: String,
}

/// A business calendar as the tenant wrote it; [`CalendarDef::build`] makes it one to count on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDef {
    pub key: String,
    pub time_zone: String,
    /// Monday first; each day's intervals as (start, end) minutes after midnight.
    pub week: Vec<Vec<(u16, u16)>>,
    /// "YYYY-MM-DD".
    pub holidays: Vec<String>,
    /// "YYYY-MM-DD".
    pub extra_working_days: Vec<String>,
    pub extra_day_hours: Vec<(u16, u16)>,
}

fn intervals(list: &[(u16, u16)]) -> Vec<Interval> {
    list.iter()
        .map(|&(start, end)| Interval { start, end })
        .collect()
}

fn dates(list: &[String]) -> Vec<NaiveDate> {
    list.iter()
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect()
}

impl CalendarDef {
    /// The calendar, or each problem as (field under the calendar, what is wrong).
    pub fn build(&self) -> Result<Calendar, Vec<(String, String)>> {
        let mut week: [Vec<Interval>; 7] = Default::default();
        for (i, day) in self.week.iter().take(7).enumerate() {
            week[i] = intervals(day);
        }
        Calendar::new(
            &self.time_zone,
            week,
            dates(&self.holidays),
            dates(&self.extra_working_days),
            intervals(&self.extra_day_hours),
        )
    }
}

/// SLA targets for matching tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub display_name: String,
    pub conditions: Conditions,
    /// The calendar's key; around the clock when empty.
    pub calendar: String,
    pub first_response_minutes: i32,
    pub next_response_minutes: i32,
    pub resolution_minutes: i32,
    pub warning_percent: i32,
}

impl SlaPolicy {
    pub fn targets(&self) -> Targets {
        Targets {
            first_response_minutes: self.first_response_minutes,
            next_response_minutes: self.next_response_minutes,
            resolution_minutes: self.resolution_minutes,
            warning_percent: self.warning_percent,
        }
    }
}

/// An escalation rule's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Tell these users (the assignee when empty).
    Notify(Vec<String>),
    RaisePriority,
    /// Move to this queue's id and route again.
    Reassign(String),
    EscalateToSupervisor,
}

impl Action {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Notify(_) => "notify",
            Self::RaisePriority => "raise priority",
            Self::Reassign(_) => "reassign",
            Self::EscalateToSupervisor => "escalate to the supervisor",
        }
    }
}

/// What happens when a target turns at risk or breached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRule {
    pub display_name: String,
    /// AT_RISK or BREACHED.
    pub on: SlaState,
    /// Any target when None.
    pub target: Option<TargetKind>,
    pub level: i32,
    pub actions: Vec<Action>,
    pub conditions: Conditions,
}

/// What a tenant decides about its tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub ticket_types: Vec<TicketType>,
    pub default_queue: String,
    pub routing_rules: Vec<RoutingRule>,
    pub calendars: Vec<CalendarDef>,
    pub sla_policies: Vec<SlaPolicy>,
    pub escalation_rules: Vec<EscalationRule>,
    pub reopen_window_days: i32,
    pub survey_valid_hours: i32,
    #[serde(skip)]
    pub update_time: Micros,
    #[serde(skip)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ticket_types: Vec::new(),
            default_queue: String::new(),
            routing_rules: Vec::new(),
            calendars: Vec::new(),
            sla_policies: Vec::new(),
            escalation_rules: Vec::new(),
            reopen_window_days: 7,
            survey_valid_hours: 168,
            update_time: 0,
            version: 0,
        }
    }
}

impl Settings {
    /// The tenant's type `key`, None for built-in and unknown types.
    pub fn ticket_type(&self, key: &str) -> Option<&TicketType> {
        self.ticket_types.iter().find(|t| t.key == key)
    }

    /// Whether `key` is a type tickets may have.
    pub fn knows_type(&self, key: &str) -> bool {
        BUILT_IN_TYPES.iter().any(|(k, _)| *k == key) || self.ticket_type(key).is_some()
    }

    /// Whether tickets of type `key` are complaints.
    pub fn is_complaint(&self, key: &str) -> bool {
        BUILT_IN_TYPES
            .iter()
            .any(|(k, complaint)| *k == key && *complaint)
            || self.ticket_type(key).is_some_and(|t| t.complaint)
    }

    /// The types that are complaints.
    pub fn complaint_types(&self) -> Vec<String> {
        BUILT_IN_TYPES
            .iter()
            .filter(|(_, c)| *c)
            .map(|(k, _)| (*k).to_owned())
            .chain(
                self.ticket_types
                    .iter()
                    .filter(|t| t.complaint)
                    .map(|t| t.key.clone()),
            )
            .collect()
    }

    /// The calendar `key` counts on; around the clock for the empty key (or a calendar that
    /// no longer builds, which the settings check refuses).
    pub fn calendar(&self, key: &str) -> Calendar {
        self.calendars
            .iter()
            .find(|c| c.key == key)
            .and_then(|c| c.build().ok())
            .unwrap_or_else(Calendar::always)
    }

    /// The first policy whose conditions hold for `t`.
    pub fn policy_for(&self, t: &Ticket) -> Option<&SlaPolicy> {
        self.sla_policies.iter().find(|p| p.conditions.matches(t))
    }

    /// The queue a ticket without one goes to, and why.
    pub fn queue_for(&self, t: &Ticket) -> Option<(String, String)> {
        self.routing_rules
            .iter()
            .find(|r| r.conditions.matches(t))
            .map(|r| {
                (
                    r.queue_id.clone(),
                    format!("routing rule \"{}\" matched", r.display_name),
                )
            })
            .or_else(|| {
                (!self.default_queue.is_empty())
                    .then(|| (self.default_queue.clone(), "the default queue".to_owned()))
            })
    }

    /// What is wrong with the settings, by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if !(0..=365).contains(&self.reopen_window_days) {
            out.push((
                "settings.reopen_window_days".to_owned(),
                format!("must be 0..365, got {}", self.reopen_window_days),
            ));
        }
        if !(1..=2160).contains(&self.survey_valid_hours) {
            out.push((
                "settings.survey_valid_hours".to_owned(),
                format!("must be 1..2160, got {}", self.survey_valid_hours),
            ));
        }
        for (i, c) in self.calendars.iter().enumerate() {
            if let Err(problems) = c.build() {
                for (field, what) in problems {
                    out.push((format!("settings.calendars[{i}].{field}"), what));
                }
            }
            if self.calendars[..i].iter().any(|o| o.key == c.key) {
                out.push((
                    format!("settings.calendars[{i}].key"),
                    format!("{:?} is used twice", c.key),
                ));
            }
        }
        for (i, p) in self.sla_policies.iter().enumerate() {
            let at = format!("settings.sla_policies[{i}]");
            if !p.calendar.is_empty() && !self.calendars.iter().any(|c| c.key == p.calendar) {
                out.push((
                    format!("{at}.calendar"),
                    format!("{:?} is not one of the calendars", p.calendar),
                ));
            }
            if self.sla_policies[..i]
                .iter()
                .any(|o| o.display_name == p.display_name)
            {
                out.push((format!("{at}.display_name"), "is used twice".to_owned()));
            }
            self.condition_problems(&p.conditions, &format!("{at}.conditions"), &mut out);
        }
        for (i, r) in self.escalation_rules.iter().enumerate() {
            let at = format!("settings.escalation_rules[{i}]");
            if self.escalation_rules[..i]
                .iter()
                .any(|o| o.display_name == r.display_name)
            {
                out.push((format!("{at}.display_name"), "is used twice".to_owned()));
            }
            self.condition_problems(&r.conditions, &format!("{at}.conditions"), &mut out);
        }
        for (i, r) in self.routing_rules.iter().enumerate() {
            self.condition_problems(
                &r.conditions,
                &format!("settings.routing_rules[{i}].conditions"),
                &mut out,
            );
        }
        for (i, t) in self.ticket_types.iter().enumerate() {
            if self.ticket_types[..i].iter().any(|o| o.key == t.key) {
                out.push((
                    format!("settings.ticket_types[{i}].key"),
                    format!("{:?} is used twice", t.key),
                ));
            }
        }
        out
    }

    fn condition_problems(&self, c: &Conditions, at: &str, out: &mut Vec<(String, String)>) {
        for (j, t) in c.types.iter().enumerate() {
            if !self.knows_type(t) {
                out.push((
                    format!("{at}.types[{j}]"),
                    format!("{t:?} is not a ticket type"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests_support::sample;

    #[test]
    fn the_first_matching_policy_and_rule_apply() {
        let mut s = Settings::default();
        let policy = |name: &str, types: &[&str]| SlaPolicy {
            display_name: name.into(),
            conditions: Conditions {
                types: types.iter().map(|t| (*t).to_owned()).collect(),
                ..Conditions::default()
            },
            calendar: String::new(),
            first_response_minutes: 60,
            next_response_minutes: 0,
            resolution_minutes: 0,
            warning_percent: 80,
        };
        s.sla_policies = vec![policy("inquiries", &["price_inquiry"]), policy("all", &[])];
        let t = sample(0);
        assert_eq!(s.policy_for(&t).unwrap().display_name, "all");
        assert_eq!(s.queue_for(&t), None);
        s.default_queue = "q1".into();
        assert_eq!(s.queue_for(&t).unwrap().0, "q1");
        s.sla_policies[0].conditions.types = vec!["nope".into()];
        assert_eq!(
            s.problems(),
            [(
                "settings.sla_policies[0].conditions.types[0]".to_owned(),
                "\"nope\" is not a ticket type".to_owned()
            )]
        );
    }
}
