//! Tickets, comments and history entries: parsing what a caller sends and building answers
//! and event payloads.

use std::collections::BTreeMap;

use rapport_kit::{
    fields::{check_value, from_text},
    mask::Rules,
    names, validate,
};
use rapport_proto::tickets as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use super::{enums, optional_id_in};
use crate::{
    domain::{
        settings::Settings,
        sla::{Clock, Sla, SlaState, TargetKind},
        ticket::{Priority, ReturnLine, State, Ticket, ticket_name},
    },
    store::history::{Comment, Event},
};

/// Longest subject.
pub const MAX_SUBJECT: usize = 200;
/// Longest description and comment body.
pub const MAX_BODY: usize = 10_000;
/// Longest category and store.
pub const MAX_LABEL: usize = 100;
/// Most tags.
pub const MAX_TAGS: usize = 20;
/// Most order lines named.
pub const MAX_LINES: usize = 100;
/// Most attachments of a comment.
pub const MAX_ATTACHMENTS: usize = 20;
/// Longest reason of a state change.
pub const MAX_REASON: usize = 1000;

/// What UpdateTicket accepts.
pub const TICKET_MASK: Rules = Rules {
    updatable: &[
        "subject",
        "description",
        "priority",
        "order_lines",
        "category",
        "store",
        "tags",
        "fields",
    ],
    immutable: &[
        "name",
        "type",
        "channel",
        "customer",
        "order",
        "return_lines",
    ],
    explained: &[
        ("queue", "changes with AssignTicket"),
        ("state", "changes with ChangeTicketState"),
    ],
    output_only: &[
        "assignee",
        "team_id",
        "routing_reason",
        "sla_policy",
        "sla_targets",
        "escalation_level",
        "customer_grade",
        "return",
        "return_state",
        "merged_into",
        "reopen_count",
        "satisfaction",
        "first_response_time",
        "resolve_time",
        "close_time",
        "create_time",
        "update_time",
        "etag",
        "creator_id",
    ],
    ..Rules::new("Ticket")
};

fn tags(v: &mut Violations, field: &str, raw: &[String]) -> Vec<String> {
    let given = validate::capped(v, field, raw, MAX_TAGS);
    let mut out: Vec<String> = Vec::new();
    for (i, t) in given.iter().enumerate() {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 64 {
            v.add(format!("{field}[{i}]"), "must be 1..64 characters");
        } else if !out.iter().any(|x| x == t) {
            out.push(t.to_owned());
        }
    }
    out
}

fn order_lines(v: &mut Violations, field: &str, raw: &[String]) -> Vec<String> {
    let given = validate::capped(v, field, raw, MAX_LINES);
    given
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim();
            if l.is_empty() || l.len() > 64 {
                v.add(format!("{field}[{i}]"), "must be an order line's id");
                None
            } else {
                Some(l.to_owned())
            }
        })
        .collect()
}

/// The ticket type's typed fields checked against its definitions: values as text, every
/// bad or missing one reported under `ticket.fields.<key>`.
fn typed_fields(
    v: &mut Violations,
    settings: &Settings,
    ticket_type: &str,
    raw: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let defs = settings
        .ticket_type(ticket_type)
        .map(|t| t.fields.as_slice())
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (key, text) in raw {
        let path = format!("ticket.fields.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            v.add(
                path,
                format!("is not a field of the ticket type {ticket_type:?}"),
            );
            continue;
        };
        match check_value(def, &from_text(def, text)) {
            Ok(_) => {
                out.insert(key.clone(), text.trim().to_owned());
            }
            Err(why) => v.add(path, why),
        }
    }
    for def in defs.iter().filter(|d| d.required) {
        if !out.contains_key(&def.key) && !raw.contains_key(&def.key) {
            v.add(format!("ticket.fields.{}", def.key), "is required");
        }
    }
    out
}

/// A new ticket from CreateTicket, checked against the tenant's `settings`. The customer and
/// order are checked in their services by the caller.
pub fn parse_new(t: &pb::Ticket, settings: &Settings, creator: &str, v: &mut Violations) -> Ticket {
    let ticket_type = t.r#type.trim().to_owned();
    if ticket_type.is_empty() {
        v.add("ticket.type", "is required");
    } else if !settings.knows_type(&ticket_type) {
        v.add(
            "ticket.type",
            format!("{ticket_type:?} is neither a built-in type nor one of the tenant's"),
        );
    }
    let subject = validate::required_text(v, "ticket.subject", &t.subject, MAX_SUBJECT);
    let description = validate::multiline_text(v, "ticket.description", &t.description, MAX_BODY);
    let priority = validate::optional_enum(
        v,
        "ticket.priority",
        t.priority,
        enums::priority,
        "Priority",
    )
    .unwrap_or(Priority::Normal);
    let channel =
        validate::required_enum(v, "ticket.channel", t.channel, enums::channel, "Channel");
    let customer = if t.customer.trim().is_empty() {
        v.add("ticket.customer", "is required");
        None
    } else {
        super::id_in("customers", &t.customer, "ticket.customer", v)
    };
    let order = optional_id_in("orders", &t.order, "ticket.order", v);
    let lines = order_lines(v, "ticket.order_lines", &t.order_lines);
    let mut return_lines = Vec::new();
    for (i, r) in validate::capped(v, "ticket.return_lines", &t.return_lines, MAX_LINES)
        .iter()
        .enumerate()
    {
        if r.line_id.trim().is_empty() {
            v.add(format!("ticket.return_lines[{i}].line_id"), "is required");
        }
        if r.quantity < 1 {
            v.add(
                format!("ticket.return_lines[{i}].quantity"),
                format!("must be 1 or more, got {}", r.quantity),
            );
        }
        return_lines.push(ReturnLine {
            line_id: r.line_id.trim().to_owned(),
            quantity: r.quantity,
        });
    }
    if order.is_none() && (!lines.is_empty() || !return_lines.is_empty()) {
        v.add(
            "ticket.order",
            "is required with order_lines or return_lines",
        );
    }
    let queue = if t.queue.trim().is_empty() {
        String::new()
    } else {
        super::id_in("queues", &t.queue, "ticket.queue", v)
            .map(|q| q.to_string())
            .unwrap_or_default()
    };
    let fields = typed_fields(v, settings, &ticket_type, &t.fields);
    Ticket {
        id: Uuid::now_v7(),
        ticket_type,
        subject,
        description,
        priority,
        channel: channel.unwrap_or(crate::domain::ticket::Channel::Web),
        customer_id: customer.unwrap_or_default(),
        order_id: order,
        order_lines: lines,
        return_lines,
        category: validate::text(v, "ticket.category", &t.category, MAX_LABEL),
        store: validate::text(v, "ticket.store", &t.store, MAX_LABEL),
        tags: tags(v, "ticket.tags", &t.tags),
        fields,
        queue_id: queue,
        assignee: String::new(),
        team_id: String::new(),
        routing_reason: String::new(),
        escalated_to: String::new(),
        state: State::New,
        sla: None,
        escalation_level: 0,
        customer_grade: String::new(),
        fired: Vec::new(),
        return_name: String::new(),
        return_state: String::new(),
        merged_into: None,
        reopen_count: 0,
        satisfaction: None,
        first_response_time: None,
        resolve_time: None,
        resolved_by: String::new(),
        close_time: None,
        creator_id: creator.to_owned(),
        create_time: 0,
        update_time: 0,
        version: 1,
    }
}

/// Applies the fields `fields` names from `given` to `t`, reporting what does not read.
pub fn apply_patch(
    given: &pb::Ticket,
    fields: &[&str],
    settings: &Settings,
    t: &mut Ticket,
    v: &mut Violations,
) {
    for field in fields {
        match *field {
            "subject" => {
                t.subject =
                    validate::required_text(v, "ticket.subject", &given.subject, MAX_SUBJECT)
            }
            "description" => {
                t.description =
                    validate::multiline_text(v, "ticket.description", &given.description, MAX_BODY)
            }
            "priority" => {
                t.priority = validate::required_enum(
                    v,
                    "ticket.priority",
                    given.priority,
                    enums::priority,
                    "Priority",
                )
                .unwrap_or(t.priority)
            }
            "order_lines" => {
                t.order_lines = order_lines(v, "ticket.order_lines", &given.order_lines);
                if t.order_id.is_none() && !t.order_lines.is_empty() {
                    v.add("ticket.order_lines", "needs the ticket to name an order");
                }
            }
            "category" => {
                t.category = validate::text(v, "ticket.category", &given.category, MAX_LABEL)
            }
            "store" => t.store = validate::text(v, "ticket.store", &given.store, MAX_LABEL),
            "tags" => t.tags = tags(v, "ticket.tags", &given.tags),
            "fields" => t.fields = typed_fields(v, settings, &t.ticket_type, &given.fields),
            _ => {}
        }
    }
}

/// A new comment from AddComment.
pub fn parse_comment(c: Option<&pb::Comment>, v: &mut Violations) -> Comment {
    let Some(c) = c else {
        v.add("comment", "is required");
        return Comment {
            id: Uuid::nil(),
            ticket_id: Uuid::nil(),
            body: String::new(),
            public: false,
            from_customer: false,
            attachment_urls: Vec::new(),
            author_id: String::new(),
            moved_from: String::new(),
            create_time: 0,
        };
    };
    let body = validate::required_text(v, "comment.body", &c.body, MAX_BODY);
    let urls = validate::capped(
        v,
        "comment.attachment_urls",
        &c.attachment_urls,
        MAX_ATTACHMENTS,
    );
    let mut attachment_urls = Vec::new();
    for (i, u) in urls.iter().enumerate() {
        let u = u.trim();
        let ok = u.starts_with("https://") && u.len() > 8 && u.len() <= 2048 && !u.contains(' ');
        if ok {
            attachment_urls.push(u.to_owned());
        } else {
            v.add(
                format!("comment.attachment_urls[{i}]"),
                "must be an https URL of at most 2048 characters",
            );
        }
    }
    if c.from_customer && !c.public {
        v.add(
            "comment.public",
            "must be true for a comment from the customer",
        );
    }
    Comment {
        id: Uuid::nil(),
        ticket_id: Uuid::nil(),
        body,
        public: c.public,
        from_customer: c.from_customer,
        attachment_urls,
        author_id: String::new(),
        moved_from: String::new(),
        create_time: 0,
    }
}

fn target_kind(k: TargetKind) -> pb::SlaTargetKind {
    match k {
        TargetKind::FirstResponse => pb::SlaTargetKind::FirstResponse,
        TargetKind::NextResponse => pb::SlaTargetKind::NextResponse,
        TargetKind::Resolution => pb::SlaTargetKind::Resolution,
    }
}

/// A target kind as the proto numbers it.
pub fn target_kind_to_proto(k: TargetKind) -> i32 {
    target_kind(k) as i32
}

/// An SLA state as the proto numbers it.
pub fn sla_state_to_proto(s: SlaState) -> i32 {
    (match s {
        SlaState::OnTrack => pb::SlaState::OnTrack,
        SlaState::AtRisk => pb::SlaState::AtRisk,
        SlaState::Breached => pb::SlaState::Breached,
        SlaState::Met => pb::SlaState::Met,
    }) as i32
}

fn targets_to_proto(sla: &Sla) -> Vec<pb::SlaTarget> {
    sla.targets
        .iter()
        .map(|t| pb::SlaTarget {
            kind: target_kind_to_proto(t.kind),
            target_minutes: (t.budget / 60_000_000) as i32,
            state: sla_state_to_proto(t.state),
            due_time: t.due.map(to_timestamp),
            warn_time: t.warn.map(to_timestamp),
            breached: t.breached,
            met_time: t.met_time.map(to_timestamp),
            used_seconds: t.used / 1_000_000,
            paused: t.clock == Clock::Paused,
        })
        .collect()
}

/// The ticket as the API answers it.
pub fn ticket_to_proto(t: &Ticket) -> pb::Ticket {
    pb::Ticket {
        name: t.name(),
        r#type: t.ticket_type.clone(),
        subject: t.subject.clone(),
        description: t.description.clone(),
        priority: enums::priority_to_proto(t.priority),
        channel: enums::channel_to_proto(t.channel),
        customer: names::format_id("customers", t.customer_id),
        order: t
            .order_id
            .map(|o| names::format_id("orders", o))
            .unwrap_or_default(),
        order_lines: t.order_lines.clone(),
        return_lines: t
            .return_lines
            .iter()
            .map(|r| pb::ReturnLine {
                line_id: r.line_id.clone(),
                quantity: r.quantity,
            })
            .collect(),
        category: t.category.clone(),
        store: t.store.clone(),
        tags: t.tags.clone(),
        fields: t.fields.clone().into_iter().collect(),
        queue: if t.queue_id.is_empty() {
            String::new()
        } else {
            format!("queues/{}", t.queue_id)
        },
        assignee: t.assignee.clone(),
        team_id: t.team_id.clone(),
        routing_reason: t.routing_reason.clone(),
        state: enums::state_to_proto(t.state),
        sla_policy: t.sla.as_ref().map(|s| s.policy.clone()).unwrap_or_default(),
        sla_targets: t.sla.as_ref().map(targets_to_proto).unwrap_or_default(),
        escalation_level: t.escalation_level,
        customer_grade: t.customer_grade.clone(),
        r#return: t.return_name.clone(),
        return_state: t.return_state.clone(),
        merged_into: t.merged_into.map(ticket_name).unwrap_or_default(),
        reopen_count: t.reopen_count,
        satisfaction: t.satisfaction.as_ref().map(|s| pb::Satisfaction {
            score: s.score,
            comment: s.comment.clone(),
            answer_time: Some(to_timestamp(s.answer_time)),
        }),
        first_response_time: t.first_response_time.map(to_timestamp),
        resolve_time: t.resolve_time.map(to_timestamp),
        close_time: t.close_time.map(to_timestamp),
        create_time: Some(to_timestamp(t.create_time)),
        update_time: Some(to_timestamp(t.update_time)),
        etag: names::etag(t.id.as_bytes(), t.version),
        creator_id: t.creator_id.clone(),
    }
}

/// A comment as the API answers it.
pub fn comment_to_proto(c: &Comment) -> pb::Comment {
    pb::Comment {
        name: format!("{}/comments/{}", ticket_name(c.ticket_id), c.id),
        body: c.body.clone(),
        public: c.public,
        from_customer: c.from_customer,
        attachment_urls: c.attachment_urls.clone(),
        author_id: c.author_id.clone(),
        moved_from: c.moved_from.clone(),
        create_time: Some(to_timestamp(c.create_time)),
    }
}

/// A history entry as the API answers it.
pub fn event_to_proto(e: &Event) -> pb::TicketEvent {
    pb::TicketEvent {
        kind: e.kind.clone(),
        actor_id: e.actor_id.clone(),
        detail: e.detail.clone(),
        rule: e.rule.clone(),
        create_time: Some(to_timestamp(e.create_time)),
    }
}
