//! The events the staff inbox is made from (X6): the reminders and alerts of the leads, orders
//! and tickets services, each written as an item for the person it is for. Each event is
//! applied once (`ctx.consume` records it in the transaction of its items), and an item's
//! source event is a unique key besides, so an event delivered twice makes one item.
//!
//! Events that make no item (other kinds, or nobody to tell) are acknowledged without a write,
//! so the busy streams these handlers read cost the inbox nothing for them.

use std::sync::Arc;

use rapport_proto::{leads as lpb, orders as opb, tickets as tpb};
use rapport_runtime::{
    Result,
    clock::from_timestamp,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
    write::Write,
};

use crate::{
    app::{events::EVENTS, inbox::deliver},
    convert::inbox as convert,
    domain::inbox::{self, Kind, Notice},
    store::inbox as store,
};

const ALERT_RAISED: Published<lpb::AlertRaised> = Published::new("alert.raised");
const TEAM_CHANGED: Published<lpb::TeamChanged> = Published::family("team.");
const REMINDER_DUE: Published<opb::DeliveryChanged> = Published::new("delivery.reminder_due");
const FOLLOW_UP_DUE: Published<opb::OrderChanged> = Published::new("order.follow_up_due");
const SLA_AT_RISK: Published<tpb::TicketChanged> = Published::new("ticket.sla_at_risk");
const SLA_BREACHED: Published<tpb::TicketChanged> = Published::new("ticket.sla_breached");
const ESCALATED: Published<tpb::TicketChanged> = Published::new("ticket.escalated");
const NOTICE: Published<tpb::EscalationNotice> = Published::new("ticket.escalation_notice");

/// Writes `items` for `event` once, as consumer `group`.
async fn write_once(
    ctx: &ServiceContext,
    group: &str,
    event: &Event,
    items: Vec<Notice>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let Some(mut w) = ctx.consume(group, event, EVENTS).await? else {
        return Ok(());
    };
    deliver(&mut w, items).await?;
    w.commit(()).await
}

/// The stream an inbox handler reads.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Leads: alerts for people, and the teams' managers.
    Leads,
    /// Orders: delivery reminders and due follow-up visits, for the order's owner.
    Orders,
    /// Tickets: SLA warnings for whoever holds the ticket, and escalation rules' notices for
    /// the people they name.
    Tickets,
}

/// The inbox's handler of one source stream.
struct InboxSource {
    ctx: ServiceContext,
    source: Source,
}

/// The handlers of every source stream.
pub fn handlers(ctx: ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    [Source::Leads, Source::Orders, Source::Tickets]
        .into_iter()
        .map(|source| {
            Arc::new(InboxSource {
                ctx: ctx.clone(),
                source,
            }) as Arc<dyn EventHandler>
        })
        .collect()
}

#[tonic::async_trait]
impl EventHandler for InboxSource {
    fn group(&self) -> &'static str {
        match self.source {
            Source::Leads => "campaigns.inbox-leads",
            Source::Orders => "campaigns.inbox-orders",
            Source::Tickets => "campaigns.inbox-tickets",
        }
    }

    fn stream(&self) -> &'static str {
        match self.source {
            Source::Leads => "leads",
            Source::Orders => "orders",
            Source::Tickets => "tickets",
        }
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        match self.source {
            Source::Leads => self.lead_event(event).await,
            Source::Orders => self.order_event(event).await,
            Source::Tickets => self.ticket_event(event).await,
        }
    }
}

impl InboxSource {
    async fn lead_event(&self, event: &Event) -> Result<()> {
        if let Some(raised) = ALERT_RAISED.payload(event)? {
            let items = raised
                .alert
                .as_ref()
                .and_then(convert::lead_alert)
                .and_then(|a| inbox::lead_alert(&event.id, &a));
            return write_once(&self.ctx, self.group(), event, items.into_iter().collect()).await;
        }
        if let Some(team) = TEAM_CHANGED.payload(event)?.and_then(|c| c.team) {
            let Some(key) = team.name.strip_prefix("teams/") else {
                return Ok(());
            };
            let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
                return Ok(());
            };
            let at = team
                .update_time
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or_else(|| w.now());
            let tenant = event.tenant.clone();
            store::set_team_manager(w.tx(), &tenant, (key, &team.manager_id), at).await?;
            return w.commit(()).await;
        }
        Ok(())
    }

    async fn order_event(&self, event: &Event) -> Result<()> {
        let item = if let Some(due) = REMINDER_DUE.payload(event)? {
            convert::delivery_reminder(&due).and_then(|d| inbox::delivery_reminder(&event.id, &d))
        } else if let Some(order) = FOLLOW_UP_DUE.payload(event)?.and_then(|c| c.order) {
            let due = convert::follow_up_due_time(&order);
            inbox::follow_up_due(&event.id, &order.name, &order.owner_id, due)
        } else {
            None
        };
        write_once(&self.ctx, self.group(), event, item.into_iter().collect()).await
    }

    async fn ticket_event(&self, event: &Event) -> Result<()> {
        if let Some(notice) = NOTICE.payload(event)? {
            let Some(t) = notice.ticket.as_ref() else {
                return Ok(());
            };
            let told = convert::escalation_notice(t, &notice.rule);
            let items = inbox::escalation_notice(&event.id, &notice.recipients, &told);
            return write_once(&self.ctx, self.group(), event, items).await;
        }
        // The SLA sweep announces one event per ticket and pass, the last entry of its history:
        // when the turn to at risk or breached fired a rule, that is `ticket.escalated`, and
        // the warning is told from the ticket's targets.
        let warned = if let Some(c) = SLA_AT_RISK.payload(event)? {
            Some((Some(Kind::SlaAtRisk), c))
        } else if let Some(c) = SLA_BREACHED.payload(event)? {
            Some((Some(Kind::SlaBreached), c))
        } else {
            ESCALATED
                .payload(event)?
                .map(|c| (c.ticket.as_ref().and_then(convert::sla_kind), c))
        };
        let Some((Some(kind), changed)) = warned else {
            return Ok(());
        };
        let Some(t) = changed.ticket.as_ref() else {
            return Ok(());
        };
        if t.assignee.is_empty() && t.team_id.is_empty() {
            return Ok(());
        }
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let Some(recipient) = holder(&mut w, &event.tenant, t).await? else {
            // Nobody holds it and its team has no manager on record: nobody to tell. The
            // event still counts as applied.
            return w.commit(()).await;
        };
        let told = convert::ticket_warning(t, changed.event.as_ref(), kind);
        let items = inbox::sla_warning(&event.id, kind, &recipient, &told);
        deliver(&mut w, items.into_iter().collect()).await?;
        w.commit(()).await
    }
}

/// Who is warned about `t`: its assignee, or while nobody holds it, the manager of its team.
async fn holder(w: &mut Write, tenant: &str, t: &tpb::Ticket) -> Result<Option<String>> {
    if !t.assignee.is_empty() {
        return Ok(Some(t.assignee.clone()));
    }
    let team = t.team_id.strip_prefix("teams/").unwrap_or(&t.team_id);
    store::team_manager(w.tx(), tenant, team).await
}

#[cfg(test)]
mod tests {
    use prost::{Message, Name};
    use rapport_runtime::clock::{HOUR, ManualClock, Micros, to_timestamp};
    use rapport_runtime::events::type_url;
    use rapport_testkit::{Backend, TestStores, outbox_events};
    use sqlx::Row;
    use uuid::Uuid;

    use super::*;

    const T0: Micros = 1_714_521_600_000_000;

    /// An event of `tenant` of type `<package>.<kind>` carrying `payload`.
    fn event<M: Message + Name>(tenant: &str, kind: &str, payload: &M) -> Event {
        Event {
            id: Uuid::now_v7().to_string(),
            r#type: format!("{}.{kind}", M::PACKAGE),
            subject: "x/1".into(),
            tenant: tenant.into(),
            data: Some(prost_types::Any {
                type_url: type_url(&M::full_name()),
                value: payload.encode_to_vec(),
            }),
            ..Default::default()
        }
    }

    fn alert(recipient: &str, kind: lpb::AlertKind) -> lpb::AlertRaised {
        lpb::AlertRaised {
            alert: Some(lpb::Alert {
                name: "alerts/1".into(),
                recipient_id: recipient.into(),
                kind: kind.into(),
                subject: "leads/l1".into(),
                message: "王芳 will be reclaimed in 1 day".into(),
                due_time: Some(to_timestamp(T0 + 24 * HOUR)),
                ..Default::default()
            }),
        }
    }

    fn ticket(assignee: &str, team: &str, state: tpb::SlaState) -> tpb::Ticket {
        tpb::Ticket {
            name: "tickets/t1".into(),
            subject: "Scratched sofa".into(),
            assignee: assignee.into(),
            team_id: team.into(),
            sla_targets: vec![tpb::SlaTarget {
                kind: tpb::SlaTargetKind::FirstResponse.into(),
                state: state.into(),
                due_time: Some(to_timestamp(T0 + HOUR)),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn changed(t: tpb::Ticket, kind: &str, detail: &str, rule: &str) -> tpb::TicketChanged {
        tpb::TicketChanged {
            ticket: Some(t),
            event: Some(tpb::TicketEvent {
                kind: kind.into(),
                detail: detail.into(),
                rule: rule.into(),
                ..Default::default()
            }),
        }
    }

    /// `(recipient, kind, resource)` of every item of `tenant`, in the order written.
    async fn items(ctx: &ServiceContext, tenant: &str) -> Vec<(String, String, String)> {
        sqlx::query(
            "SELECT recipient_id, kind, resource FROM inbox_items WHERE tenant_id = $1 \
             ORDER BY create_time, id",
        )
        .bind(tenant)
        .fetch_all(ctx.db.pool())
        .await
        .expect("items")
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("recipient_id"),
                r.get::<String, _>("kind"),
                r.get::<String, _>("resource"),
            )
        })
        .collect()
    }

    #[tokio::test]
    async fn each_source_event_makes_one_item_per_person_even_when_delivered_twice() {
        for backend in Backend::all() {
            let stores = TestStores::new(backend).await;
            let ctx = stores
                .context::<crate::Campaigns>(&ManualClock::at(T0))
                .await;
            let [leads, orders, tickets]: [Arc<dyn EventHandler>; 3] = handlers(ctx.clone())
                .try_into()
                .ok()
                .expect("three sources");

            // The team's manager, as leads announced it: an older announcement arriving late
            // does not undo it.
            let team = |manager: &str, at: Micros| lpb::TeamChanged {
                team: Some(lpb::Team {
                    name: "teams/care".into(),
                    manager_id: manager.into(),
                    update_time: Some(to_timestamp(at)),
                    ..Default::default()
                }),
            };
            leads
                .handle(&event("t1", "team.updated", &team("mgr-1", T0)))
                .await
                .expect("team");
            leads
                .handle(&event("t1", "team.created", &team("old", T0 - HOUR)))
                .await
                .expect("late team");

            // A breach of a ticket nobody holds, of `team`.
            let unheld_breach = |team: &str| {
                let t = ticket("", team, tpb::SlaState::Breached);
                let c = changed(t, "sla_breached", "first_response is BREACHED", "");
                event("t1", "ticket.sla_breached", &c)
            };
            let sources = [
                (
                    &leads,
                    event(
                        "t1",
                        "alert.raised",
                        &alert("rep-1", lpb::AlertKind::ReclaimWarning),
                    ),
                ),
                (
                    &leads,
                    event(
                        "t1",
                        "alert.raised",
                        &alert("rep-1", lpb::AlertKind::TaskReminder),
                    ),
                ),
                (
                    &orders,
                    event(
                        "t1",
                        "delivery.reminder_due",
                        &opb::DeliveryChanged {
                            delivery: Some(opb::Delivery {
                                name: "orders/o1/deliveries/d1".into(),
                                window_start: Some(to_timestamp(T0 + 24 * HOUR)),
                                window_end: Some(to_timestamp(T0 + 26 * HOUR)),
                                address: "12 Garden Road".into(),
                                ..Default::default()
                            }),
                            customer: "customers/c1".into(),
                            owner_id: "rep-1".into(),
                        },
                    ),
                ),
                (
                    &orders,
                    event(
                        "t1",
                        "order.follow_up_due",
                        &opb::OrderChanged {
                            order: Some(opb::Order {
                                name: "orders/o1".into(),
                                owner_id: "rep-1".into(),
                                ..Default::default()
                            }),
                            revision: None,
                        },
                    ),
                ),
                (
                    &tickets,
                    event(
                        "t1",
                        "ticket.sla_at_risk",
                        &changed(
                            ticket("ag-1", "care", tpb::SlaState::AtRisk),
                            "sla_at_risk",
                            "first_response is AT_RISK",
                            "",
                        ),
                    ),
                ),
                (
                    // Nobody holds it: its team's manager is told.
                    &tickets,
                    unheld_breach("care"),
                ),
                (
                    // A team without a manager on record: nobody to tell.
                    &tickets,
                    unheld_breach("sales"),
                ),
                (
                    // A breach that fired a rule is announced as the rule's action.
                    &tickets,
                    event(
                        "t1",
                        "ticket.escalated",
                        &changed(
                            ticket("ag-1", "care", tpb::SlaState::Breached),
                            "escalated",
                            "priority NORMAL → HIGH",
                            "Raise it",
                        ),
                    ),
                ),
                (
                    &tickets,
                    event(
                        "t1",
                        "ticket.escalation_notice",
                        &tpb::EscalationNotice {
                            ticket: Some(ticket("ag-1", "care", tpb::SlaState::AtRisk)),
                            rule: "Tell them".into(),
                            recipients: vec!["care-lead".into(), "ag-1".into(), "care-lead".into()],
                            detail: "notified care-lead, ag-1".into(),
                        },
                    ),
                ),
                (
                    // Kinds the inbox does not deliver change nothing.
                    &tickets,
                    event(
                        "t1",
                        "ticket.commented",
                        &changed(
                            ticket("ag-1", "care", tpb::SlaState::AtRisk),
                            "commented",
                            "",
                            "",
                        ),
                    ),
                ),
            ];
            for (handler, e) in &sources {
                handler.handle(e).await.expect("apply");
                // Delivered again: applied once.
                handler.handle(e).await.expect("apply again");
            }
            let got = items(&ctx, "t1").await;
            let got: Vec<(&str, &str, &str)> = got
                .iter()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
                .collect();
            assert_eq!(
                got,
                [
                    ("rep-1", "LEAD_RECLAIM_WARNING", "leads/l1"),
                    ("rep-1", "TASK_DUE", "leads/l1"),
                    ("rep-1", "DELIVERY_REMINDER", "orders/o1/deliveries/d1"),
                    ("rep-1", "FOLLOW_UP_DUE", "orders/o1"),
                    ("ag-1", "SLA_AT_RISK", "tickets/t1"),
                    ("mgr-1", "SLA_BREACHED", "tickets/t1"),
                    ("ag-1", "SLA_BREACHED", "tickets/t1"),
                    ("care-lead", "ESCALATION", "tickets/t1"),
                    ("ag-1", "ESCALATION", "tickets/t1"),
                ]
            );
            // Each item announced once, naming its recipient's inbox; no contact data.
            let announced: Vec<Event> = outbox_events(&ctx.db)
                .await
                .into_iter()
                .filter(|e| e.r#type == "rapport.campaigns.v1.inbox.item_created")
                .collect();
            assert_eq!(announced.len(), 9);
            assert!(announced[0].subject.starts_with("users/rep-1/inboxItems/"));
            let bodies: Vec<String> = sqlx::query("SELECT body FROM inbox_items")
                .fetch_all(ctx.db.pool())
                .await
                .expect("bodies")
                .iter()
                .map(|r| r.get::<String, _>("body"))
                .collect();
            assert!(
                bodies.iter().all(|b| !b.contains("Garden Road")),
                "{bodies:?}"
            );
            // Another tenant's alert lands in that tenant only.
            leads
                .handle(&event(
                    "t2",
                    "alert.raised",
                    &alert("rep-1", lpb::AlertKind::Assigned),
                ))
                .await
                .expect("t2");
            assert_eq!(items(&ctx, "t1").await.len(), 9);
            assert_eq!(items(&ctx, "t2").await.len(), 1);
        }
    }
}
