//! The staff inbox (X6): the reminders and alerts other services raise, one item per person,
//! and the words each source's event is told in. Titles and bodies say only what the recipient
//! may see anyway: the resource's name, what the source service wrote for that recipient,
//! times; never a customer's contact data.

use rapport_runtime::clock::{Micros, rfc3339};
use uuid::Uuid;

/// The collection of inboxes: `users/{user}`.
pub const USERS: &str = "users";
/// The collection of an inbox's items: `users/{user}/inboxItems/{item}`.
pub const ITEMS: &str = "inboxItems";
/// Items one MarkInboxItemsRead may name.
pub const MAX_NAMES: usize = 100;
/// Longest title, in characters; longer ones are cut.
const MAX_TITLE: usize = 200;
/// Longest body, in characters; longer ones are cut.
const MAX_BODY: usize = 1000;

/// What an item tells its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A lead was assigned to the recipient.
    LeadAssigned,
    /// A lead will be reclaimed unless followed up.
    LeadReclaimWarning,
    /// A lead was reclaimed from the recipient.
    LeadReclaimed,
    /// An opportunity stayed in its stage longer than normal.
    LeadDwell,
    /// A dwelling opportunity of the recipient's team, escalated to its manager.
    LeadDwellEscalation,
    /// A task's reminder time came.
    TaskDue,
    /// A high-intent lead should get a call.
    LeadHighIntent,
    /// A delivery appointment is near.
    DeliveryReminder,
    /// An order's follow-up visit is due.
    FollowUpDue,
    /// A ticket's SLA target is at risk.
    SlaAtRisk,
    /// A ticket's SLA target was breached.
    SlaBreached,
    /// An escalation rule told the recipient about a ticket.
    Escalation,
}

impl Kind {
    /// Every kind, in the order summaries count them.
    pub const ALL: [Kind; 12] = [
        Kind::LeadAssigned,
        Kind::LeadReclaimWarning,
        Kind::LeadReclaimed,
        Kind::LeadDwell,
        Kind::LeadDwellEscalation,
        Kind::TaskDue,
        Kind::LeadHighIntent,
        Kind::DeliveryReminder,
        Kind::FollowUpDue,
        Kind::SlaAtRisk,
        Kind::SlaBreached,
        Kind::Escalation,
    ];

    /// The stored spelling, stable.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LeadAssigned => "LEAD_ASSIGNED",
            Kind::LeadReclaimWarning => "LEAD_RECLAIM_WARNING",
            Kind::LeadReclaimed => "LEAD_RECLAIMED",
            Kind::LeadDwell => "LEAD_DWELL",
            Kind::LeadDwellEscalation => "LEAD_DWELL_ESCALATION",
            Kind::TaskDue => "TASK_DUE",
            Kind::LeadHighIntent => "LEAD_HIGH_INTENT",
            Kind::DeliveryReminder => "DELIVERY_REMINDER",
            Kind::FollowUpDue => "FOLLOW_UP_DUE",
            Kind::SlaAtRisk => "SLA_AT_RISK",
            Kind::SlaBreached => "SLA_BREACHED",
            Kind::Escalation => "ESCALATION",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The item's title.
    fn title(self) -> &'static str {
        match self {
            Kind::LeadAssigned => "A lead was assigned to you",
            Kind::LeadReclaimWarning => "A lead of yours is about to be reclaimed",
            Kind::LeadReclaimed => "A lead was reclaimed from you",
            Kind::LeadDwell => "An opportunity is stuck in its stage",
            Kind::LeadDwellEscalation => "An opportunity of your team is stuck in its stage",
            Kind::TaskDue => "Task reminder",
            Kind::LeadHighIntent => "A high-intent lead is waiting for your call",
            Kind::DeliveryReminder => "A delivery appointment is coming up",
            Kind::FollowUpDue => "A follow-up visit is due",
            Kind::SlaAtRisk => "A ticket's SLA is at risk",
            Kind::SlaBreached => "A ticket's SLA was breached",
            Kind::Escalation => "A ticket was escalated to you",
        }
    }
}

/// What an item tells whom: all of it but what writing and reading it add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The recipient's user id.
    pub recipient_id: String,
    /// What it tells.
    pub kind: Kind,
    /// One line.
    pub title: String,
    /// What happened.
    pub body: String,
    /// What it is about, e.g. `tickets/{id}`.
    pub resource: String,
    /// The event it was made from.
    pub source_event_id: String,
    /// When the thing it is about happens, if any.
    pub due_time: Option<Micros>,
}

impl Notice {
    /// The notice of `kind` for `recipient`, told in `body`; `None` when the recipient is no
    /// user id an inbox can be named by (empty, or with a "/").
    fn new(
        kind: Kind,
        recipient: &str,
        body: String,
        (resource, source_event_id): (&str, &str),
        due_time: Option<Micros>,
    ) -> Option<Notice> {
        is_user(recipient).then(|| Notice {
            recipient_id: recipient.to_owned(),
            kind,
            title: cut(kind.title(), MAX_TITLE),
            body: cut(&body, MAX_BODY),
            resource: resource.to_owned(),
            source_event_id: source_event_id.to_owned(),
            due_time,
        })
    }

    /// The item as written, with id `id` at `now`.
    pub fn written(self, id: Uuid, now: Micros) -> Item {
        Item {
            id,
            notice: self,
            create_time: now,
            read_time: None,
        }
    }
}

/// An item of an inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Server-assigned, UUIDv7.
    pub id: Uuid,
    /// What it tells whom.
    pub notice: Notice,
    /// When it was written.
    pub create_time: Micros,
    /// When it was marked read.
    pub read_time: Option<Micros>,
}

impl Item {
    /// `users/{user}/inboxItems/{item}`.
    pub fn name(&self) -> String {
        item_name(&self.notice.recipient_id, self.id)
    }
}

/// An inbox's unread items, counted by kind (kinds without any left out), in kind order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `(kind, unread)`.
    pub by_kind: Vec<(Kind, i64)>,
}

impl Summary {
    /// Unread items in all.
    pub fn unread(&self) -> i64 {
        self.by_kind.iter().map(|(_, n)| n).sum()
    }
}

/// Whether `user` can name an inbox: a token's subject of 1..128 characters, without "/" or
/// control characters.
pub fn is_user(user: &str) -> bool {
    (1..=128).contains(&user.chars().count()) && !user.chars().any(|c| c == '/' || c.is_control())
}

/// `users/{user}`.
pub fn inbox_name(user: &str) -> String {
    format!("{USERS}/{user}")
}

/// `users/{user}/inboxItems/{item}`.
pub fn item_name(user: &str, id: Uuid) -> String {
    format!("{USERS}/{user}/{ITEMS}/{}", id.hyphenated())
}

/// The (user, item) of `users/{user}/inboxItems/{item}`.
pub fn parse_item_name(name: &str) -> Result<(String, Uuid), String> {
    const PATTERN: &str = "users/{user}/inboxItems/{item}";
    if name.is_empty() {
        return Err(format!("is required, as \"{PATTERN}\""));
    }
    match name.split('/').collect::<Vec<_>>().as_slice() {
        [u, user, c, id] if *u == USERS && *c == ITEMS && is_user(user) => {
            match Uuid::try_parse(id) {
                // Hyphenated only: an id has one spelling, so names compare as text.
                Ok(uuid) if id.len() == 36 => Ok(((*user).to_owned(), uuid)),
                _ => Err(format!(
                    "\"{id}\" is not a UUID (in \"{PATTERN}\", ids are hyphenated UUIDs)"
                )),
            }
        }
        _ => Err(format!("\"{name}\" does not match \"{PATTERN}\"")),
    }
}

/// The user of the inbox `users/{user}` or of an item in it; `None` for anything else.
pub fn user_of(name: &str) -> Option<&str> {
    let mut parts = name.split('/');
    match (parts.next(), parts.next()) {
        (Some(USERS), Some(user)) if is_user(user) => Some(user),
        _ => None,
    }
}

/// `text` cut to `max` characters, marked with "…" when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

// ---- the items each source's event makes ----

/// An alert the leads service raised for a person (`alert.raised`): its own message, written
/// for that person, is the body.
#[derive(Debug, Clone)]
pub struct LeadAlert<'a> {
    /// What it tells, read from the leads service's kind.
    pub kind: Kind,
    /// Who it is for.
    pub recipient_id: &'a str,
    /// `leads/…`, `opportunities/…` or `tasks/…`.
    pub subject: &'a str,
    /// The leads service's message.
    pub message: &'a str,
    /// When the thing it warns about happens, if any.
    pub due_time: Option<Micros>,
}

/// The item of the leads alert of event `event_id`.
pub fn lead_alert(event_id: &str, a: &LeadAlert<'_>) -> Option<Notice> {
    Notice::new(
        a.kind,
        a.recipient_id,
        a.message.to_owned(),
        (a.subject, event_id),
        a.due_time,
    )
}

/// A delivery whose appointment is near (`delivery.reminder_due`).
#[derive(Debug, Clone)]
pub struct DeliveryReminder<'a> {
    /// `orders/{order}/deliveries/{delivery}`.
    pub delivery: &'a str,
    /// The order's owning rep.
    pub owner_id: &'a str,
    /// The window the crew arrives in.
    pub window: (Option<Micros>, Option<Micros>),
    /// Whether it includes installation.
    pub installation: bool,
}

/// The item of the delivery reminder of event `event_id`, for the order's owner.
pub fn delivery_reminder(event_id: &str, d: &DeliveryReminder<'_>) -> Option<Notice> {
    let order = d
        .delivery
        .split("/deliveries/")
        .next()
        .unwrap_or(d.delivery);
    let what = if d.installation {
        "delivery with installation"
    } else {
        "delivery"
    };
    let when = match d.window {
        (Some(start), Some(end)) => format!(" between {} and {}", rfc3339(start), rfc3339(end)),
        (Some(start), None) => format!(" from {}", rfc3339(start)),
        _ => String::new(),
    };
    Notice::new(
        Kind::DeliveryReminder,
        d.owner_id,
        format!("The {what} of {order} is due{when}."),
        (d.delivery, event_id),
        d.window.0,
    )
}

/// The item of event `event_id` announcing that the follow-up visit of `order` is due, for
/// its owner `owner_id`.
pub fn follow_up_due(
    event_id: &str,
    order: &str,
    owner_id: &str,
    due_time: Option<Micros>,
) -> Option<Notice> {
    let since = due_time
        .map(|t| format!(" since {}", rfc3339(t)))
        .unwrap_or_default();
    Notice::new(
        Kind::FollowUpDue,
        owner_id,
        format!(
            "The follow-up visit of {order} has been due{since}: ask the customer how it went."
        ),
        (order, event_id),
        due_time,
    )
}

/// A ticket as its SLA warnings tell of it.
#[derive(Debug, Clone)]
pub struct TicketWarning<'a> {
    /// `tickets/{ticket}`.
    pub ticket: &'a str,
    /// Its one-line subject, which its assignee sees anyway.
    pub subject: &'a str,
    /// What happened, as the ticket's history says it ("first_response is AT_RISK", or an
    /// escalation action).
    pub detail: &'a str,
    /// For a warning that fired an escalation rule: the rule's name.
    pub rule: &'a str,
    /// The earliest deadline of the targets concerned, if any.
    pub due_time: Option<Micros>,
}

/// The item of the SLA warning (`kind` at risk or breached) of event `event_id` for
/// `recipient`: the ticket's assignee, or its team's manager while nobody holds it.
pub fn sla_warning(
    event_id: &str,
    kind: Kind,
    recipient: &str,
    t: &TicketWarning<'_>,
) -> Option<Notice> {
    let mut body = format!("Ticket \"{}\" ({}): {}", t.subject, t.ticket, t.detail);
    if !t.rule.is_empty() {
        body.push_str(&format!(" (escalation rule \"{}\")", t.rule));
    }
    if let Some(due) = t.due_time {
        body.push_str(&format!("; due {}", rfc3339(due)));
    }
    body.push('.');
    Notice::new(kind, recipient, body, (t.ticket, event_id), t.due_time)
}

/// The items of an escalation rule's notice (`ticket.escalation_notice`) of event
/// `event_id`: one for each recipient named, each named once.
pub fn escalation_notice(
    event_id: &str,
    recipients: &[String],
    t: &TicketWarning<'_>,
) -> Vec<Notice> {
    let body = format!(
        "Escalation rule \"{}\" on ticket \"{}\" ({}).",
        t.rule, t.subject, t.ticket
    );
    let mut seen: Vec<&str> = Vec::new();
    recipients
        .iter()
        .filter(|r| {
            let new = !seen.contains(&r.as_str());
            seen.push(r);
            new
        })
        .filter_map(|r| {
            Notice::new(
                Kind::Escalation,
                r,
                body.clone(),
                (t.ticket, event_id),
                t.due_time,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_their_stored_spelling() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("lead_dwell"), None);
    }

    #[test]
    fn names_parse_back_and_refuse_what_is_not_an_item() {
        let id = Uuid::now_v7();
        let name = item_name("rep-1", id);
        assert_eq!(parse_item_name(&name), Ok(("rep-1".to_owned(), id)));
        assert_eq!(user_of(&name), Some("rep-1"));
        assert_eq!(user_of("users/rep-1"), Some("rep-1"));
        assert_eq!(user_of("tickets/x"), None);
        for bad in [
            "",
            "users/rep-1",
            "users//inboxItems/x",
            "teams/rep-1/inboxItems/0190b5d6-0000-7000-8000-000000000000",
            "users/rep-1/inboxItems/nope",
            "users/rep-1/inboxItems/0190b5d6-0000-7000-8000-000000000000/more",
        ] {
            assert!(parse_item_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn items_go_only_to_user_ids_and_long_texts_are_cut() {
        let alert = |recipient_id| LeadAlert {
            kind: Kind::TaskDue,
            recipient_id,
            subject: "tasks/1",
            message: "Call: a",
            due_time: Some(5),
        };
        let item = lead_alert("e1", &alert("rep-1")).expect("an item");
        assert_eq!(item.title, "Task reminder");
        assert_eq!(item.body, "Call: a");
        assert_eq!(
            (item.resource.as_str(), item.due_time),
            ("tasks/1", Some(5))
        );
        assert!(lead_alert("e1", &alert("")).is_none());
        assert!(lead_alert("e1", &alert("a/b")).is_none());
        let long = "长".repeat(5000);
        let cut = lead_alert(
            "e1",
            &LeadAlert {
                message: &long,
                ..alert("rep-1")
            },
        )
        .expect("an item");
        assert_eq!(cut.body.chars().count(), 1000);
        assert!(cut.body.ends_with('…'));
    }

    #[test]
    fn sources_are_told_in_words_without_contact_data() {
        let d = delivery_reminder(
            "e",
            &DeliveryReminder {
                delivery: "orders/o1/deliveries/d1",
                owner_id: "rep-1",
                window: (Some(0), Some(3_600_000_000)),
                installation: true,
            },
        )
        .expect("an item");
        assert_eq!(
            d.body,
            "The delivery with installation of orders/o1 is due between \
             1970-01-01T00:00:00Z and 1970-01-01T01:00:00Z."
        );
        let t = TicketWarning {
            ticket: "tickets/t1",
            subject: "Broken leg",
            detail: "first_response is AT_RISK",
            rule: "",
            due_time: None,
        };
        let w = sla_warning("e", Kind::SlaAtRisk, "agent-1", &t).expect("an item");
        assert_eq!(
            w.body,
            "Ticket \"Broken leg\" (tickets/t1): first_response is AT_RISK."
        );
        let notices = escalation_notice(
            "e",
            &["a".into(), "b".into(), "a".into(), String::new()],
            &TicketWarning { rule: "Tell", ..t },
        );
        let to: Vec<&str> = notices.iter().map(|n| n.recipient_id.as_str()).collect();
        assert_eq!(to, ["a", "b"]);
    }
}
