//! The staff inbox as a resource, and the source services' events read into what the domain
//! tells of them.

use prost::UnknownEnumValue;
use rapport_kit::enums::{read, write};
use rapport_proto::{campaigns as pb, leads as lpb, orders as opb, tickets as tpb};
use rapport_runtime::clock::{Micros, from_timestamp, to_timestamp};

use crate::domain::inbox::{
    DeliveryReminder, Item, Kind, LeadAlert, Notice, Summary, TicketWarning, inbox_name,
    parse_item_name,
};

const KINDS: [(pb::InboxItemKind, Kind); 12] = [
    (pb::InboxItemKind::LeadAssigned, Kind::LeadAssigned),
    (
        pb::InboxItemKind::LeadReclaimWarning,
        Kind::LeadReclaimWarning,
    ),
    (pb::InboxItemKind::LeadReclaimed, Kind::LeadReclaimed),
    (pb::InboxItemKind::LeadDwell, Kind::LeadDwell),
    (
        pb::InboxItemKind::LeadDwellEscalation,
        Kind::LeadDwellEscalation,
    ),
    (pb::InboxItemKind::TaskDue, Kind::TaskDue),
    (pb::InboxItemKind::LeadHighIntent, Kind::LeadHighIntent),
    (pb::InboxItemKind::DeliveryReminder, Kind::DeliveryReminder),
    (pb::InboxItemKind::FollowUpDue, Kind::FollowUpDue),
    (pb::InboxItemKind::SlaAtRisk, Kind::SlaAtRisk),
    (pb::InboxItemKind::SlaBreached, Kind::SlaBreached),
    (pb::InboxItemKind::Escalation, Kind::Escalation),
];

/// An item kind from its proto number.
pub fn kind(raw: i32) -> Result<Option<Kind>, UnknownEnumValue> {
    read(&KINDS, raw)
}

/// An item kind's proto number.
pub fn kind_to_proto(k: Kind) -> i32 {
    write(&KINDS, k)
}

/// The answer for `item`.
pub fn item_to_proto(item: &Item) -> pb::InboxItem {
    pb::InboxItem {
        name: item.name(),
        kind: kind_to_proto(item.notice.kind),
        title: item.notice.title.clone(),
        body: item.notice.body.clone(),
        resource: item.notice.resource.clone(),
        source_event_id: item.notice.source_event_id.clone(),
        due_time: item.notice.due_time.map(to_timestamp),
        create_time: Some(to_timestamp(item.create_time)),
        read_time: item.read_time.map(to_timestamp),
    }
}

/// The item an `inbox.item_created` carries; `None` if it is not one this service wrote.
pub fn item_from_proto(p: &pb::InboxItem) -> Option<Item> {
    let (user, id) = parse_item_name(&p.name).ok()?;
    Some(Item {
        id,
        notice: Notice {
            recipient_id: user,
            kind: kind(p.kind).ok()??,
            title: p.title.clone(),
            body: p.body.clone(),
            resource: p.resource.clone(),
            source_event_id: p.source_event_id.clone(),
            due_time: p.due_time.as_ref().and_then(from_timestamp),
        },
        create_time: p.create_time.as_ref().and_then(from_timestamp)?,
        read_time: p.read_time.as_ref().and_then(from_timestamp),
    })
}

/// The answer for `user`'s unread counts.
pub fn summary_to_proto(user: &str, s: &Summary) -> pb::InboxSummary {
    pb::InboxSummary {
        parent: inbox_name(user),
        unread_count: s.unread(),
        unread_by_kind: s
            .by_kind
            .iter()
            .map(|(k, n)| pb::InboxKindCount {
                kind: kind_to_proto(*k),
                unread_count: *n,
            })
            .collect(),
    }
}

/// The payload of `inbox.items_read`.
pub fn items_read(
    user: &str,
    names: Vec<String>,
    up_to: Option<Micros>,
    (read_count, read_time): (i64, Micros),
) -> pb::InboxItemsRead {
    pb::InboxItemsRead {
        parent: inbox_name(user),
        names,
        up_to: up_to.map(to_timestamp),
        read_count,
        read_time: Some(to_timestamp(read_time)),
    }
}

// ---- the source services' events ----

/// The inbox kind of a leads alert's kind.
fn lead_alert_kind(k: lpb::AlertKind) -> Option<Kind> {
    use lpb::AlertKind as A;
    Some(match k {
        A::Unspecified => return None,
        A::ReclaimWarning => Kind::LeadReclaimWarning,
        A::Reclaimed => Kind::LeadReclaimed,
        A::Assigned => Kind::LeadAssigned,
        A::Dwell => Kind::LeadDwell,
        A::DwellEscalation => Kind::LeadDwellEscalation,
        A::TaskReminder => Kind::TaskDue,
        A::HighIntent => Kind::LeadHighIntent,
    })
}

/// A leads alert as the inbox tells it; `None` for a kind it does not know.
pub fn lead_alert(a: &lpb::Alert) -> Option<LeadAlert<'_>> {
    Some(LeadAlert {
        kind: lead_alert_kind(lpb::AlertKind::try_from(a.kind).ok()?)?,
        recipient_id: &a.recipient_id,
        subject: &a.subject,
        message: &a.message,
        due_time: a.due_time.as_ref().and_then(from_timestamp),
    })
}

/// A delivery whose reminder fired, as the inbox tells it.
pub fn delivery_reminder(d: &opb::DeliveryChanged) -> Option<DeliveryReminder<'_>> {
    let delivery = d.delivery.as_ref()?;
    Some(DeliveryReminder {
        delivery: &delivery.name,
        owner_id: &d.owner_id,
        window: (
            delivery.window_start.as_ref().and_then(from_timestamp),
            delivery.window_end.as_ref().and_then(from_timestamp),
        ),
        installation: delivery.installation,
    })
}

/// When the follow-up visit of `o` is due.
pub fn follow_up_due_time(o: &opb::Order) -> Option<Micros> {
    o.follow_up
        .as_ref()
        .and_then(|f| f.due_time.as_ref())
        .and_then(from_timestamp)
}

/// The worst state the SLA of `t` is in, as the kind of warning it makes: breached if any
/// target is, else at risk if any target is.
pub fn sla_kind(t: &tpb::Ticket) -> Option<Kind> {
    let states: Vec<tpb::SlaState> = t.sla_targets.iter().map(|s| s.state()).collect();
    if states.contains(&tpb::SlaState::Breached) {
        Some(Kind::SlaBreached)
    } else if states.contains(&tpb::SlaState::AtRisk) {
        Some(Kind::SlaAtRisk)
    } else {
        None
    }
}

/// `t` as its SLA warning tells it: `entry` is the history entry the event carries; the
/// deadline is the earliest of the targets in the state `kind` warns of.
pub fn ticket_warning<'a>(
    t: &'a tpb::Ticket,
    entry: Option<&'a tpb::TicketEvent>,
    kind: Kind,
) -> TicketWarning<'a> {
    let state = match kind {
        Kind::SlaBreached => tpb::SlaState::Breached,
        _ => tpb::SlaState::AtRisk,
    };
    TicketWarning {
        ticket: &t.name,
        subject: &t.subject,
        detail: entry.map_or("", |e| e.detail.as_str()),
        rule: entry.map_or("", |e| e.rule.as_str()),
        due_time: t
            .sla_targets
            .iter()
            .filter(|s| s.state() == state)
            .filter_map(|s| s.due_time.as_ref().and_then(from_timestamp))
            .min(),
    }
}

/// `t` as an escalation rule's notice tells it.
pub fn escalation_notice<'a>(t: &'a tpb::Ticket, rule: &'a str) -> TicketWarning<'a> {
    TicketWarning {
        ticket: &t.name,
        subject: &t.subject,
        detail: "",
        rule,
        due_time: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_proto_number_and_every_leads_alert_a_kind() {
        for k in Kind::ALL {
            assert_eq!(kind(kind_to_proto(k)), Ok(Some(k)));
        }
        assert_eq!(kind(0), Ok(None));
        assert!(kind(99).is_err());
        for raw in 1..=7 {
            let k = lpb::AlertKind::try_from(raw).expect("a leads alert kind");
            assert!(lead_alert_kind(k).is_some(), "{k:?}");
        }
    }

    #[test]
    fn a_tickets_worst_sla_state_names_its_warning() {
        let target = |state: tpb::SlaState, due: i64| tpb::SlaTarget {
            state: state.into(),
            due_time: Some(to_timestamp(due)),
            ..Default::default()
        };
        let mut t = tpb::Ticket {
            sla_targets: vec![
                target(tpb::SlaState::OnTrack, 1),
                target(tpb::SlaState::AtRisk, 9),
                target(tpb::SlaState::AtRisk, 5),
            ],
            ..Default::default()
        };
        assert_eq!(sla_kind(&t), Some(Kind::SlaAtRisk));
        assert_eq!(ticket_warning(&t, None, Kind::SlaAtRisk).due_time, Some(5));
        t.sla_targets.push(target(tpb::SlaState::Breached, 2));
        assert_eq!(sla_kind(&t), Some(Kind::SlaBreached));
        t.sla_targets.clear();
        assert_eq!(sla_kind(&t), None);
    }
}
