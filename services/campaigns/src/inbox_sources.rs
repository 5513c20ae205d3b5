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
    domain::inbox::{self, Kind, NewItem},
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
    items: Vec<NewItem>,
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

/// Consumes the leads stream: alerts for people, and the teams' managers.
pub struct LeadAlerts {
    ctx: ServiceContext,
}

impl LeadAlerts {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(LeadAlerts { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for LeadAlerts {
    fn group(&self) -> &'static str {
        "campaigns.inbox-leads"
    }

    fn stream(&self) -> &'static str {
        "leads"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
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
}

/// Consumes the orders stream: delivery reminders and due follow-up visits, for the order's
/// owner.
pub struct OrderReminders {
    ctx: ServiceContext,
}

impl OrderReminders {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(OrderReminders { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for OrderReminders {
    fn group(&self) -> &'static str {
        "campaigns.inbox-orders"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
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
}

/// Consumes the tickets stream: SLA warnings for whoever holds the ticket, and escalation
/// rules' notices for the people they name.
pub struct TicketAlerts {
    ctx: ServiceContext,
}

impl TicketAlerts {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(TicketAlerts { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for TicketAlerts {
    fn group(&self) -> &'static str {
        "campaigns.inbox-tickets"
    }

    fn stream(&self) -> &'static str {
        "tickets"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
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
