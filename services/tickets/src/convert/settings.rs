//! The ticket settings as a resource: types, routing rules, calendars, SLA policies and
//! escalation rules, read with every bad field reported, and written back.

use rapport_kit::{
    fields::{CustomFieldDef, CustomFieldDefInput, CustomFieldType, parse_definitions},
    mask::Rules,
    names, validate,
};
use rapport_proto::{tickets as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use super::{
    enums,
    ticket::{sla_state_to_proto, target_kind_to_proto},
};
use crate::domain::{
    settings::{
        Action, CalendarDef, Conditions, EscalationRule, RoutingRule, SETTINGS_NAME, Settings,
        SlaPolicy, TicketType,
    },
    sla::SlaState,
    ticket::is_built_in,
};

/// What UpdateTicketSettings accepts.
pub const SETTINGS_MASK: Rules = Rules {
    updatable: &[
        "ticket_types",
        "default_queue",
        "routing_rules",
        "calendars",
        "sla_policies",
        "escalation_rules",
        "reopen_window_days",
        "survey_valid_hours",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("TicketSettings")
};

/// Reads the fields `fields` names into `into`, reporting what does not read; the settings'
/// own consistency is checked by the settings.
pub fn apply(s: &pb::TicketSettings, fields: &[&str], into: &mut Settings, v: &mut Violations) {
    for field in fields {
        match *field {
            "ticket_types" => {
                let given = validate::capped(v, "settings.ticket_types", &s.ticket_types, 50);
                into.ticket_types = given
                    .iter()
                    .enumerate()
                    .map(|(i, t)| parse_type(t, &format!("settings.ticket_types[{i}]"), v))
                    .collect();
            }
            "default_queue" => {
                into.default_queue = queue_id(&s.default_queue, "settings.default_queue", v)
            }
            "routing_rules" => {
                let given = validate::capped(v, "settings.routing_rules", &s.routing_rules, 100);
                into.routing_rules = given
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let at = format!("settings.routing_rules[{i}]");
                        RoutingRule {
                            display_name: validate::required_text(
                                v,
                                &format!("{at}.display_name"),
                                &r.display_name,
                                128,
                            ),
                            conditions: conditions(r.conditions.as_ref(), &at, v),
                            queue_id: if r.queue.trim().is_empty() {
                                v.add(format!("{at}.queue"), "is required");
                                String::new()
                            } else {
                                queue_id(&r.queue, &format!("{at}.queue"), v)
                            },
                        }
                    })
                    .collect();
            }
            "calendars" => {
                let given = validate::capped(v, "settings.calendars", &s.calendars, 20);
                into.calendars = given
                    .iter()
                    .enumerate()
                    .map(|(i, c)| parse_calendar(c, &format!("settings.calendars[{i}]"), v))
                    .collect();
            }
            "sla_policies" => {
                let given = validate::capped(v, "settings.sla_policies", &s.sla_policies, 50);
                into.sla_policies = given
                    .iter()
                    .enumerate()
                    .map(|(i, p)| parse_policy(p, &format!("settings.sla_policies[{i}]"), v))
                    .collect();
            }
            "escalation_rules" => {
                let given =
                    validate::capped(v, "settings.escalation_rules", &s.escalation_rules, 50);
                into.escalation_rules = given
                    .iter()
                    .enumerate()
                    .map(|(i, r)| parse_rule(r, &format!("settings.escalation_rules[{i}]"), v))
                    .collect();
            }
            "reopen_window_days" => into.reopen_window_days = s.reopen_window_days,
            "survey_valid_hours" => into.survey_valid_hours = s.survey_valid_hours,
            _ => {}
        }
    }
}

/// The id of a "queues/{id}" name, reported in `field` when it is not one; empty stays empty.
fn queue_id(name: &str, field: &str, v: &mut Violations) -> String {
    if name.trim().is_empty() {
        return String::new();
    }
    super::id_in("queues", name, field, v)
        .map(|id| id.to_string())
        .unwrap_or_default()
}

const FIELD_TYPES: [(pb::FieldType, CustomFieldType); 6] = [
    (pb::FieldType::String, CustomFieldType::String),
    (pb::FieldType::Number, CustomFieldType::Number),
    (pb::FieldType::Integer, CustomFieldType::Integer),
    (pb::FieldType::Boolean, CustomFieldType::Boolean),
    (pb::FieldType::Date, CustomFieldType::Date),
    (pb::FieldType::Enum, CustomFieldType::Enum),
];

fn parse_type(t: &pb::TicketType, at: &str, v: &mut Violations) -> TicketType {
    let key = t.key.trim().to_owned();
    if !names::is_key(&key) {
        v.add(
            format!("{at}.key"),
            "must be 1..64 of a-z, 0-9 and _, starting with a letter",
        );
    } else if is_built_in(&key) {
        v.add(format!("{at}.key"), format!("{key:?} is a built-in type"));
    }
    let inputs: Vec<CustomFieldDefInput> = t
        .fields
        .iter()
        .map(|d| CustomFieldDefInput {
            key: d.key.trim().to_owned(),
            display_name: d.display_name.clone(),
            field_type: FIELD_TYPES
                .iter()
                .find(|(p, _)| *p as i32 == d.r#type)
                .map(|(_, t)| *t),
            required: d.required,
            options: d.options.clone(),
        })
        .collect();
    let fields = if t.fields.len() > 50 {
        v.add(format!("{at}.fields"), "at most 50");
        Vec::new()
    } else {
        parse_definitions(&inputs, &format!("{at}.fields"), v)
    };
    TicketType {
        key,
        display_name: validate::required_text(
            v,
            &format!("{at}.display_name"),
            &t.display_name,
            128,
        ),
        fields,
        complaint: t.complaint,
    }
}

fn field_to_proto(d: &CustomFieldDef) -> pb::FieldDefinition {
    pb::FieldDefinition {
        key: d.key.clone(),
        display_name: d.display_name.clone(),
        r#type: FIELD_TYPES
            .iter()
            .find(|(_, t)| *t == d.field_type)
            .map_or(0, |(p, _)| *p as i32),
        required: d.required,
        options: d.options.clone(),
    }
}

fn conditions(c: Option<&pb::TicketConditions>, at: &str, v: &mut Violations) -> Conditions {
    let Some(c) = c else {
        return Conditions::default();
    };
    let at = format!("{at}.conditions");
    let mut out = Conditions {
        types: c.types.iter().map(|t| t.trim().to_owned()).collect(),
        customer_grades: c
            .customer_grades
            .iter()
            .map(|g| g.trim().to_owned())
            .collect(),
        tags: c.tags.iter().map(|t| t.trim().to_owned()).collect(),
        ..Conditions::default()
    };
    for (i, p) in c.priorities.iter().enumerate() {
        if let Some(p) = validate::required_enum(
            v,
            &format!("{at}.priorities[{i}]"),
            *p,
            enums::priority,
            "Priority",
        ) {
            out.priorities.push(p);
        }
    }
    for (i, ch) in c.channels.iter().enumerate() {
        if let Some(ch) = validate::required_enum(
            v,
            &format!("{at}.channels[{i}]"),
            *ch,
            enums::channel,
            "Channel",
        ) {
            out.channels.push(ch);
        }
    }
    out
}

fn conditions_to_proto(c: &Conditions) -> pb::TicketConditions {
    pb::TicketConditions {
        types: c.types.clone(),
        priorities: c
            .priorities
            .iter()
            .map(|p| enums::priority_to_proto(*p))
            .collect(),
        channels: c
            .channels
            .iter()
            .map(|p| enums::channel_to_proto(*p))
            .collect(),
        customer_grades: c.customer_grades.clone(),
        tags: c.tags.clone(),
    }
}

/// "HH:MM" as minutes after midnight; "24:00" only as an end.
fn minutes(text: &str, end: bool) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if h == 24 && m == 0 && end {
        return Some(1440);
    }
    (h < 24 && m < 60 && h.to_string().len() <= 2).then_some(h * 60 + m)
}

fn day_hours(d: Option<&pb::DayHours>, at: &str, v: &mut Violations) -> Vec<(u16, u16)> {
    let Some(d) = d else {
        return Vec::new();
    };
    let given = validate::capped(v, &format!("{at}.intervals"), &d.intervals, 6);
    let mut out = Vec::new();
    for (i, w) in given.iter().enumerate() {
        let (start, end) = (minutes(&w.start, false), minutes(&w.end, true));
        match (start, end) {
            (Some(s), Some(e)) if s < e => out.push((s, e)),
            (Some(_), Some(_)) => v.add(format!("{at}.intervals[{i}].end"), "must be after start"),
            (s, e) => {
                if s.is_none() {
                    v.add(
                        format!("{at}.intervals[{i}].start"),
                        "must be \"HH:MM\", 00:00..23:59",
                    );
                }
                if e.is_none() {
                    v.add(
                        format!("{at}.intervals[{i}].end"),
                        "must be \"HH:MM\", 00:01..24:00",
                    );
                }
            }
        }
    }
    out
}

fn date_text(v: &mut Violations, field: &str, d: &pt::Date) -> Option<String> {
    let date = validate::full_date(v, field, Some(d))?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn date_to_proto(text: &str) -> pt::Date {
    let mut parts = text.split('-').map(|p| p.parse::<i32>().unwrap_or(0));
    pt::Date {
        year: parts.next().unwrap_or(0),
        month: parts.next().unwrap_or(0),
        day: parts.next().unwrap_or(0),
    }
}

fn parse_calendar(c: &pb::BusinessCalendar, at: &str, v: &mut Violations) -> CalendarDef {
    let key = c.key.trim().to_owned();
    if !names::is_key(&key) {
        v.add(
            format!("{at}.key"),
            "must be 1..64 of a-z, 0-9 and _, starting with a letter",
        );
    }
    if !c.week.is_empty() && c.week.len() != 7 {
        v.add(
            format!("{at}.week"),
            format!("must have 7 days, Monday first; got {}", c.week.len()),
        );
    }
    let week: Vec<Vec<(u16, u16)>> = c
        .week
        .iter()
        .enumerate()
        .map(|(i, d)| day_hours(Some(d), &format!("{at}.week[{i}]"), v))
        .collect();
    let holidays = validate::capped(v, &format!("{at}.holidays"), &c.holidays, 200);
    let extra = validate::capped(
        v,
        &format!("{at}.extra_working_days"),
        &c.extra_working_days,
        100,
    );
    CalendarDef {
        key,
        time_zone: c.time_zone.trim().to_owned(),
        week,
        holidays: holidays
            .iter()
            .enumerate()
            .filter_map(|(i, d)| date_text(v, &format!("{at}.holidays[{i}]"), d))
            .collect(),
        extra_working_days: extra
            .iter()
            .enumerate()
            .filter_map(|(i, d)| date_text(v, &format!("{at}.extra_working_days[{i}]"), d))
            .collect(),
        extra_day_hours: day_hours(
            c.extra_day_hours.as_ref(),
            &format!("{at}.extra_day_hours"),
            v,
        ),
    }
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn day_to_proto(list: &[(u16, u16)]) -> pb::DayHours {
    pb::DayHours {
        intervals: list
            .iter()
            .map(|&(s, e)| pb::WorkInterval {
                start: hhmm(s),
                end: hhmm(e),
            })
            .collect(),
    }
}

fn calendar_to_proto(c: &CalendarDef) -> pb::BusinessCalendar {
    pb::BusinessCalendar {
        key: c.key.clone(),
        time_zone: c.time_zone.clone(),
        week: c.week.iter().map(|d| day_to_proto(d)).collect(),
        holidays: c.holidays.iter().map(|d| date_to_proto(d)).collect(),
        extra_working_days: c
            .extra_working_days
            .iter()
            .map(|d| date_to_proto(d))
            .collect(),
        extra_day_hours: (!c.extra_day_hours.is_empty()).then(|| day_to_proto(&c.extra_day_hours)),
    }
}

fn parse_policy(p: &pb::SlaPolicy, at: &str, v: &mut Violations) -> SlaPolicy {
    let minutes = |v: &mut Violations, field: &str, m: i32| {
        if !(0..=525_600).contains(&m) {
            v.add(
                format!("{at}.{field}"),
                format!("must be 0..525600, got {m}"),
            );
        }
        m.max(0)
    };
    let first = minutes(v, "first_response_minutes", p.first_response_minutes);
    let next = minutes(v, "next_response_minutes", p.next_response_minutes);
    let resolution = minutes(v, "resolution_minutes", p.resolution_minutes);
    if first + next + resolution == 0 {
        v.add(
            format!("{at}.resolution_minutes"),
            "a policy needs at least one target above 0",
        );
    }
    let warning = if p.warning_percent == 0 {
        80
    } else {
        p.warning_percent
    };
    if !(1..=99).contains(&warning) {
        v.add(
            format!("{at}.warning_percent"),
            format!("must be 1..99, got {warning}"),
        );
    }
    SlaPolicy {
        display_name: validate::required_text(
            v,
            &format!("{at}.display_name"),
            &p.display_name,
            128,
        ),
        conditions: conditions(p.conditions.as_ref(), at, v),
        calendar: p.calendar.trim().to_owned(),
        first_response_minutes: first,
        next_response_minutes: next,
        resolution_minutes: resolution,
        warning_percent: warning,
    }
}

fn policy_to_proto(p: &SlaPolicy) -> pb::SlaPolicy {
    pb::SlaPolicy {
        display_name: p.display_name.clone(),
        conditions: Some(conditions_to_proto(&p.conditions)),
        calendar: p.calendar.clone(),
        first_response_minutes: p.first_response_minutes,
        next_response_minutes: p.next_response_minutes,
        resolution_minutes: p.resolution_minutes,
        warning_percent: p.warning_percent,
    }
}

fn parse_rule(r: &pb::EscalationRule, at: &str, v: &mut Violations) -> EscalationRule {
    let on = validate::required_enum(v, &format!("{at}.on"), r.on, enums::sla_state, "SlaState");
    if matches!(on, Some(SlaState::OnTrack | SlaState::Met)) {
        v.add(format!("{at}.on"), "must be AT_RISK or BREACHED");
    }
    let target = validate::optional_enum(
        v,
        &format!("{at}.target"),
        r.target,
        enums::target_kind,
        "SlaTargetKind",
    );
    if !(1..=9).contains(&r.level) {
        v.add(
            format!("{at}.level"),
            format!("must be 1..9, got {}", r.level),
        );
    }
    if r.actions.is_empty() {
        v.add(format!("{at}.actions"), "at least one action is required");
    }
    let given = validate::capped(v, &format!("{at}.actions"), &r.actions, 10);
    let mut actions = Vec::new();
    for (i, a) in given.iter().enumerate() {
        let field = format!("{at}.actions[{i}]");
        let kind = pb::EscalationActionKind::try_from(a.kind).ok();
        let action = match kind {
            Some(pb::EscalationActionKind::Notify) => {
                let who = validate::ids(v, &format!("{field}.notify"), &a.notify, 20);
                Some(Action::Notify(who))
            }
            Some(pb::EscalationActionKind::RaisePriority) => Some(Action::RaisePriority),
            Some(pb::EscalationActionKind::Reassign) => {
                if a.queue.trim().is_empty() {
                    v.add(format!("{field}.queue"), "is required for REASSIGN");
                }
                Some(Action::Reassign(queue_id(
                    &a.queue,
                    &format!("{field}.queue"),
                    v,
                )))
            }
            Some(pb::EscalationActionKind::EscalateToSupervisor) => {
                Some(Action::EscalateToSupervisor)
            }
            _ => {
                v.add(
                    format!("{field}.kind"),
                    "is required: an EscalationActionKind",
                );
                None
            }
        };
        actions.extend(action);
    }
    EscalationRule {
        display_name: validate::required_text(
            v,
            &format!("{at}.display_name"),
            &r.display_name,
            128,
        ),
        on: on.unwrap_or(SlaState::Breached),
        target,
        level: r.level,
        actions,
        conditions: conditions(r.conditions.as_ref(), at, v),
    }
}

fn action_to_proto(a: &Action) -> pb::EscalationAction {
    let (kind, queue, notify) = match a {
        Action::Notify(who) => (pb::EscalationActionKind::Notify, String::new(), who.clone()),
        Action::RaisePriority => (
            pb::EscalationActionKind::RaisePriority,
            String::new(),
            vec![],
        ),
        Action::Reassign(q) => (
            pb::EscalationActionKind::Reassign,
            format!("queues/{q}"),
            vec![],
        ),
        Action::EscalateToSupervisor => (
            pb::EscalationActionKind::EscalateToSupervisor,
            String::new(),
            vec![],
        ),
    };
    pb::EscalationAction {
        kind: kind as i32,
        queue,
        notify,
    }
}

fn rule_to_proto(r: &EscalationRule) -> pb::EscalationRule {
    pb::EscalationRule {
        display_name: r.display_name.clone(),
        on: sla_state_to_proto(r.on),
        target: r.target.map(target_kind_to_proto).unwrap_or(0),
        level: r.level,
        actions: r.actions.iter().map(action_to_proto).collect(),
        conditions: Some(conditions_to_proto(&r.conditions)),
    }
}

/// The answer for the settings.
pub fn settings_to_proto(s: &Settings) -> pb::TicketSettings {
    let queue = |id: &str| {
        if id.is_empty() {
            String::new()
        } else {
            format!("queues/{id}")
        }
    };
    pb::TicketSettings {
        name: SETTINGS_NAME.to_owned(),
        ticket_types: s
            .ticket_types
            .iter()
            .map(|t| pb::TicketType {
                key: t.key.clone(),
                display_name: t.display_name.clone(),
                fields: t.fields.iter().map(field_to_proto).collect(),
                complaint: t.complaint,
            })
            .collect(),
        default_queue: queue(&s.default_queue),
        routing_rules: s
            .routing_rules
            .iter()
            .map(|r| pb::RoutingRule {
                display_name: r.display_name.clone(),
                conditions: Some(conditions_to_proto(&r.conditions)),
                queue: queue(&r.queue_id),
            })
            .collect(),
        calendars: s.calendars.iter().map(calendar_to_proto).collect(),
        sla_policies: s.sla_policies.iter().map(policy_to_proto).collect(),
        escalation_rules: s.escalation_rules.iter().map(rule_to_proto).collect(),
        reopen_window_days: s.reopen_window_days,
        survey_valid_hours: s.survey_valid_hours,
        update_time: (s.version > 0).then(|| to_timestamp(s.update_time)),
        etag: names::etag(SETTINGS_NAME, s.version),
    }
}
