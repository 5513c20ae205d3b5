//! Strategies, plans and runs: parsing what a caller sends and building answers.

use rapport_kit::{
    channels::{EmailTemplate, SmsTemplate},
    mask::Rules,
    names,
    validate::{self, Money},
};
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};

use super::enums::{channel, channel_to_proto};
use crate::domain::{
    channel::Channel,
    control::MAX_CONTROL_BPS,
    occasion::{self, Occasion},
    run::{Run, RunState, Tally},
    strategy::{
        Action, Audience, CAMPAIGNS, Message, PLANS, Plan, SEGMENTS, Schedule, State, Strategy,
        Template,
    },
};

/// What UpdateStrategy accepts.
pub const STRATEGY_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "description",
        "plan",
        "campaign",
        "audience",
        "action",
        "trigger",
        "control_bps",
        "budget",
    ],
    immutable: &["name"],
    explained: &[("state", "changes through ChangeStrategyState")],
    output_only: &[
        "spent",
        "creator",
        "create_time",
        "update_time",
        "etag",
        "next_run_time",
    ],
    ..Rules::new("Strategy")
};

/// Longest audience filter.
const MAX_FILTER: usize = 2_000;

fn audience(v: &mut Violations, a: Option<&pb::Audience>) -> Audience {
    let field = "strategy.audience";
    let Some(a) = a else {
        v.add(field, "is required: a segment or a filter");
        return Audience::Filter(String::new());
    };
    match (a.segment.trim().is_empty(), a.filter.trim().is_empty()) {
        (false, true) => validate::id_in(SEGMENTS, &a.segment, "strategy.audience.segment", v)
            .map_or(Audience::Filter(String::new()), Audience::Segment),
        (true, false) => Audience::Filter(validate::text(
            v,
            "strategy.audience.filter",
            &a.filter,
            MAX_FILTER,
        )),
        _ => {
            v.add(field, "needs exactly one of segment and filter");
            Audience::Filter(String::new())
        }
    }
}

/// The variables every message's template may use.
const MESSAGE_VARS: &[&str] = &["customer.display_name", "customer.name"];
/// With a coupon, also the coupon's.
const COUPON_VARS: &[&str] = &["customer.display_name", "customer.name", "coupon"];

/// Checks `t` as the kit's templates check it, for `channel`, reporting under `field`.
fn check_template(v: &mut Violations, field: &str, channel: Channel, t: &Template, vars: &[&str]) {
    let mut found = Violations::new();
    match channel {
        Channel::Email => EmailTemplate {
            subject: t.subject.clone(),
            text: t.text.clone(),
            html: Some(t.html.clone()).filter(|h| !h.is_empty()),
        }
        .check(&mut found, vars),
        _ => SmsTemplate {
            text: t.text.clone(),
        }
        .check(&mut found, vars),
    }
    // The kit names an SMS's body `sms_text`; here it is the template's `text`.
    for p in found.into_vec() {
        let name = if p.field == "sms_text" {
            "text"
        } else {
            &p.field
        };
        v.add(format!("{field}.{name}"), p.description);
    }
}

fn message(
    v: &mut Violations,
    field: &str,
    m: Option<&pb::MessageAction>,
    vars: &[&str],
) -> Option<Message> {
    let Some(m) = m else {
        v.add(field, "is required");
        return None;
    };
    let ch = validate::required_enum(
        v,
        &format!("{field}.channel"),
        m.channel,
        channel,
        "Channel",
    );
    let t = m.template.clone().unwrap_or_default();
    if m.template.is_none() {
        v.add(format!("{field}.template"), "is required");
    }
    let template = Template {
        subject: t.subject.trim().to_owned(),
        text: t.text.trim().to_owned(),
        html: t.html.trim().to_owned(),
    };
    match ch {
        Some(ch) if m.template.is_some() => {
            check_template(v, &format!("{field}.template"), ch, &template, vars)
        }
        // Without a channel the template cannot be judged, but its text is required anyway.
        _ if m.template.is_some() && template.text.is_empty() => {
            v.add(format!("{field}.template.text"), "is required")
        }
        _ => {}
    }
    let unit_cost = validate::money(v, &format!("{field}.unit_cost"), m.unit_cost.as_ref());
    Some(Message {
        channel: ch?,
        template,
        transactional: m.transactional,
        unit_cost,
    })
}

fn action(v: &mut Violations, a: Option<&pb::Action>) -> Option<Action> {
    use pb::action::Kind;
    match a.and_then(|a| a.kind.as_ref()) {
        None => {
            v.add("strategy.action", "is required: a message or a coupon");
            None
        }
        Some(Kind::Message(m)) => {
            message(v, "strategy.action.message", Some(m), MESSAGE_VARS).map(Action::Message)
        }
        Some(Kind::Coupon(c)) => {
            let m = message(
                v,
                "strategy.action.coupon.message",
                c.message.as_ref(),
                COUPON_VARS,
            );
            let value = validate::money(v, "strategy.action.coupon.value", c.value.as_ref());
            if value.is_none() && c.value.is_none() {
                v.add("strategy.action.coupon.value", "is required");
            }
            let min_order =
                validate::money(v, "strategy.action.coupon.min_order", c.min_order.as_ref());
            if !(1..=365).contains(&c.valid_days) {
                v.add(
                    "strategy.action.coupon.valid_days",
                    format!("must be 1..365, got {}", c.valid_days),
                );
            }
            Some(Action::Coupon {
                message: m?,
                value: value?,
                min_order,
                valid_days: c.valid_days,
            })
        }
    }
}

fn start_time(v: &mut Violations, field: &str, t: Option<&prost_types::Timestamp>) -> Micros {
    let start = validate::optional_time(t, field, v);
    if t.is_none() {
        v.add(field, "is required");
    }
    start.unwrap_or(0)
}

const OCCASIONS: [(pb::OccasionKind, occasion::Kind); 3] = [
    (pb::OccasionKind::Birthday, occasion::Kind::Birthday),
    (pb::OccasionKind::Anniversary, occasion::Kind::Anniversary),
    (
        pb::OccasionKind::CustomerAnniversary,
        occasion::Kind::CustomerAnniversary,
    ),
];

/// The schedule of a trigger, and its occasion for care greetings (a daily schedule).
fn trigger(v: &mut Violations, t: Option<&pb::Trigger>) -> (Schedule, Option<Occasion>) {
    use pb::trigger::Kind;
    match t.and_then(|t| t.kind.as_ref()) {
        Some(Kind::Schedule(s)) => {
            let start = start_time(
                v,
                "strategy.trigger.schedule.start_time",
                s.start_time.as_ref(),
            );
            if !(0..=365).contains(&s.every_days) {
                v.add(
                    "strategy.trigger.schedule.every_days",
                    format!("must be 0..365, got {}", s.every_days),
                );
            }
            (
                Schedule {
                    start,
                    every_days: s.every_days,
                },
                None,
            )
        }
        Some(Kind::Occasion(o)) => {
            let start = start_time(
                v,
                "strategy.trigger.occasion.start_time",
                o.start_time.as_ref(),
            );
            let kind = validate::required_enum(
                v,
                "strategy.trigger.occasion.kind",
                o.kind,
                |raw| rapport_kit::enums::read(&OCCASIONS, raw),
                "OccasionKind",
            );
            (
                Schedule {
                    start,
                    every_days: 1,
                },
                kind.map(|kind| Occasion {
                    kind,
                    utc_offset_minutes: o.utc_offset_minutes,
                }),
            )
        }
        None => {
            v.add("strategy.trigger", "is required: a schedule or an occasion");
            (
                Schedule {
                    start: 0,
                    every_days: 0,
                },
                None,
            )
        }
    }
}

fn control(v: &mut Violations, bps: i32) -> i32 {
    if !(0..=MAX_CONTROL_BPS).contains(&bps) {
        v.add(
            "strategy.control_bps",
            format!("must be 0..{MAX_CONTROL_BPS}, got {bps}"),
        );
    }
    bps
}

/// A strategy from what CreateStrategy gives; every bad field reported. Ids and times are the
/// caller's to set.
pub fn parse_strategy(s: Option<&pb::Strategy>, v: &mut Violations) -> Option<Strategy> {
    let Some(s) = s else {
        v.add("strategy", "is required");
        return None;
    };
    let display_name = validate::required_text(v, "strategy.display_name", &s.display_name, 200);
    let description = validate::multiline_text(v, "strategy.description", &s.description, 2_000);
    let plan_id = validate::optional_id_in(PLANS, &s.plan, "strategy.plan", v);
    let campaign_id = validate::optional_id_in(CAMPAIGNS, &s.campaign, "strategy.campaign", v);
    let audience = audience(v, s.audience.as_ref());
    let action = action(v, s.action.as_ref());
    let (schedule, occasion) = trigger(v, s.trigger.as_ref());
    let control_bps = control(v, s.control_bps);
    let budget = validate::money(v, "strategy.budget", s.budget.as_ref());
    Some(Strategy {
        display_name,
        description,
        plan_id,
        campaign_id,
        audience,
        action: action?,
        schedule,
        occasion,
        control_bps,
        budget,
        ..probe()
    })
}

/// A strategy to read an update's fields into when only their checks matter.
pub fn probe() -> Strategy {
    Strategy {
        id: uuid::Uuid::nil(),
        display_name: String::new(),
        description: String::new(),
        plan_id: None,
        campaign_id: None,
        audience: Audience::Filter(String::new()),
        action: Action::Message(Message {
            channel: crate::domain::channel::Channel::Sms,
            template: Template::default(),
            transactional: false,
            unit_cost: None,
        }),
        schedule: Schedule {
            start: 0,
            every_days: 0,
        },
        occasion: None,
        control_bps: 0,
        state: State::Draft,
        budget: None,
        spent: 0,
        creator: String::new(),
        create_time: 0,
        update_time: 0,
        next_run_time: None,
        version: 0,
    }
}

/// Reads the fields `fields` names from `s` into `into`, reporting bad ones.
pub fn apply_strategy(s: &pb::Strategy, fields: &[&str], into: &mut Strategy, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "strategy.display_name", &s.display_name, 200)
            }
            "description" => {
                into.description =
                    validate::multiline_text(v, "strategy.description", &s.description, 2_000)
            }
            "plan" => into.plan_id = validate::optional_id_in(PLANS, &s.plan, "strategy.plan", v),
            "campaign" => {
                into.campaign_id =
                    validate::optional_id_in(CAMPAIGNS, &s.campaign, "strategy.campaign", v)
            }
            "audience" => into.audience = audience(v, s.audience.as_ref()),
            "action" => {
                if let Some(a) = action(v, s.action.as_ref()) {
                    into.action = a;
                }
            }
            "trigger" => (into.schedule, into.occasion) = trigger(v, s.trigger.as_ref()),
            "control_bps" => into.control_bps = control(v, s.control_bps),
            "budget" => into.budget = validate::money(v, "strategy.budget", s.budget.as_ref()),
            _ => {}
        }
    }
}

fn money(m: &Money) -> rapport_proto::types::Money {
    validate::money_to_proto(m)
}

fn time(t: Option<Micros>) -> Option<prost_types::Timestamp> {
    t.map(to_timestamp)
}

const STATES: [(pb::StrategyState, State); 4] = [
    (pb::StrategyState::Draft, State::Draft),
    (pb::StrategyState::Active, State::Active),
    (pb::StrategyState::Paused, State::Paused),
    (pb::StrategyState::Archived, State::Archived),
];

/// A strategy state from its proto number.
pub fn state(raw: i32) -> Result<Option<State>, prost::UnknownEnumValue> {
    rapport_kit::enums::read(&STATES, raw)
}

fn message_to_proto(m: &Message) -> pb::MessageAction {
    pb::MessageAction {
        channel: channel_to_proto(m.channel),
        template: Some(pb::MessageTemplate {
            subject: m.template.subject.clone(),
            text: m.template.text.clone(),
            html: m.template.html.clone(),
        }),
        transactional: m.transactional,
        unit_cost: m.unit_cost.as_ref().map(money),
    }
}

/// The answer for `s`.
pub fn strategy_to_proto(s: &Strategy) -> pb::Strategy {
    let action = match &s.action {
        Action::Message(m) => pb::action::Kind::Message(message_to_proto(m)),
        Action::Coupon {
            message,
            value,
            min_order,
            valid_days,
        } => pb::action::Kind::Coupon(pb::CouponAction {
            message: Some(message_to_proto(message)),
            value: Some(money(value)),
            min_order: min_order.as_ref().map(money),
            valid_days: *valid_days,
        }),
    };
    let audience = match &s.audience {
        Audience::Segment(id) => pb::Audience {
            segment: names::format_id(SEGMENTS, *id),
            filter: String::new(),
        },
        Audience::Filter(f) => pb::Audience {
            segment: String::new(),
            filter: f.clone(),
        },
    };
    pb::Strategy {
        name: s.name(),
        display_name: s.display_name.clone(),
        description: s.description.clone(),
        plan: s
            .plan_id
            .map(|id| names::format_id(PLANS, id))
            .unwrap_or_default(),
        campaign: s
            .campaign_id
            .map(|id| names::format_id(CAMPAIGNS, id))
            .unwrap_or_default(),
        audience: Some(audience),
        action: Some(pb::Action { kind: Some(action) }),
        trigger: Some(pb::Trigger {
            kind: Some(match &s.occasion {
                Some(o) => pb::trigger::Kind::Occasion(pb::Occasion {
                    kind: rapport_kit::enums::write(&OCCASIONS, o.kind),
                    start_time: Some(to_timestamp(s.schedule.start)),
                    utc_offset_minutes: o.utc_offset_minutes,
                }),
                None => pb::trigger::Kind::Schedule(pb::Schedule {
                    start_time: Some(to_timestamp(s.schedule.start)),
                    every_days: s.schedule.every_days,
                }),
            }),
        }),
        control_bps: s.control_bps,
        state: rapport_kit::enums::write(&STATES, s.state),
        budget: s.budget.as_ref().map(money),
        spent: s.currency().map(|c| rapport_proto::types::Money {
            currency_code: c.to_owned(),
            minor_units: s.spent,
        }),
        creator: s.creator.clone(),
        create_time: Some(to_timestamp(s.create_time)),
        update_time: Some(to_timestamp(s.update_time)),
        etag: names::etag(s.id.as_bytes(), s.version),
        next_run_time: time(s.next_run_time),
    }
}

/// A plan from what CreatePlan gives.
pub fn parse_plan(p: Option<&pb::Plan>, v: &mut Violations) -> Plan {
    let p = p.cloned().unwrap_or_else(|| {
        v.add("plan", "is required");
        pb::Plan::default()
    });
    Plan {
        id: uuid::Uuid::nil(),
        display_name: validate::required_text(v, "plan.display_name", &p.display_name, 200),
        description: validate::multiline_text(v, "plan.description", &p.description, 2_000),
        creator: String::new(),
        create_time: 0,
    }
}

/// The answer for `p`.
pub fn plan_to_proto(p: &Plan) -> pb::Plan {
    pb::Plan {
        name: p.name(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        creator: p.creator.clone(),
        create_time: Some(to_timestamp(p.create_time)),
    }
}

/// The answer for `r` with the tally of its recipients.
pub fn run_to_proto(r: &Run, t: &Tally) -> pb::StrategyRun {
    pb::StrategyRun {
        name: r.name(),
        state: match r.state {
            RunState::Preparing => pb::RunState::Preparing,
            RunState::Sending => pb::RunState::Sending,
            RunState::Done => pb::RunState::Done,
        }
        .into(),
        start_time: Some(to_timestamp(r.start_time)),
        end_time: time(r.end_time),
        audience: r.audience,
        control: r.control,
        sent: t.sent,
        pending: t.pending,
        skipped: t.skipped.iter().cloned().collect(),
    }
}

/// The report of `name` from its figures, amounts in `currency` (none: no amounts).
pub fn report_to_proto(
    name: String,
    f: &crate::domain::report::Figures,
    currency: Option<&str>,
) -> pb::StrategyReport {
    let e = crate::domain::report::effect(f);
    let amount = |minor_units| {
        currency.map(|c| rapport_proto::types::Money {
            currency_code: c.to_owned(),
            minor_units,
        })
    };
    pb::StrategyReport {
        name,
        treated: f.treated,
        control: f.control,
        reached: f.reached,
        treated_converted: f.treated_converted,
        control_converted: f.control_converted,
        treated_rate: e.treated_rate,
        control_rate: e.control_rate,
        uplift_known: e.uplift.is_some(),
        uplift: e.uplift.map_or(0.0, |u| u.difference),
        uplift_low: e.uplift.map_or(0.0, |u| u.low),
        uplift_high: e.uplift.map_or(0.0, |u| u.high),
        orders: f.orders,
        revenue: amount(f.revenue),
        cost: amount(f.cost),
        roi: e.roi,
    }
}
