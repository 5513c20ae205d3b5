//! Events the partners service consumes, to know what each partner brought: from the leads
//! service, leads attributed to a partner and their conversion (which also converts the
//! registration the lead came from); from the orders service, orders naming a partner, with
//! their total while confirmed. Each event is applied once (`ctx.consume`), in the same
//! transaction as what it changes.

use std::sync::Arc;

use rapport_kit::names;
use rapport_proto::{leads as lpb, orders as opb};
use rapport_runtime::{
    Result,
    clock::from_timestamp,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::{
    app::{App, EVENTS, commissions, registrations},
    convert::commission::order_view,
    domain::partner::PARTNERS,
    store::attributions::{self, Attribution, Kind},
};

const LEAD: Published<lpb::LeadChanged> = Published::family("lead.");
const ORDER: Published<opb::OrderChanged> = Published::family("order.");

/// Consumes the leads stream.
pub struct LeadEvents {
    app: App,
}

impl LeadEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(LeadEvents { app: App::new(ctx) })
    }
}

#[tonic::async_trait]
impl EventHandler for LeadEvents {
    fn group(&self) -> &'static str {
        "partners.lead-events"
    }

    fn stream(&self) -> &'static str {
        "leads"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        // Every change of a lead carrying the lead keeps its state; conversion does more.
        let Some(lead) = LEAD.payload(event)?.and_then(|c| c.lead) else {
            return Ok(());
        };
        let converted = lpb::LeadState::try_from(lead.state) == Ok(lpb::LeadState::Converted);
        let partner = lead.attribution.as_ref().map(|a| a.partner_id.as_str());
        let Some(partner) = partner.and_then(|p| names::parse_id(PARTNERS, p).ok()) else {
            return Ok(());
        };
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let now = w.now();
        let tenant = event.tenant.clone();
        let at = lead
            .create_time
            .as_ref()
            .and_then(from_timestamp)
            .unwrap_or(now);
        attributions::upsert(
            w.tx(),
            &tenant,
            &Attribution {
                partner_id: partner,
                resource: lead.name.clone(),
                kind: Kind::Lead,
                currency: String::new(),
                amount: 0,
                converted,
                state: lpb::LeadState::try_from(lead.state)
                    .map(|s| s.as_str_name().to_owned())
                    .unwrap_or_default(),
                create_time: at,
                update_time: now,
            },
        )
        .await?;
        if converted {
            if !lead.customer.is_empty() {
                attributions::upsert(
                    w.tx(),
                    &tenant,
                    &Attribution {
                        partner_id: partner,
                        resource: lead.customer.clone(),
                        kind: Kind::Customer,
                        currency: String::new(),
                        amount: 0,
                        converted: false,
                        state: String::new(),
                        create_time: now,
                        update_time: now,
                    },
                )
                .await?;
            }
            if let Ok(id) = names::parse_id("leads", &lead.name) {
                registrations::lead_converted(&mut w, id).await?;
            }
        }
        w.commit(()).await
    }
}

/// Consumes the orders stream.
pub struct OrderEvents {
    app: App,
}

impl OrderEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(OrderEvents { app: App::new(ctx) })
    }
}

/// What an order counts for its partner: its net total once confirmed, nothing as a draft or
/// once cancelled.
fn counted(o: &opb::Order) -> (String, i64) {
    use opb::OrderState as S;
    let total = o
        .net_total
        .clone()
        .or_else(|| o.total.clone())
        .unwrap_or_default();
    match S::try_from(o.state) {
        Ok(S::Confirmed | S::DeliveryScheduled | S::Delivered | S::Completed) => {
            (total.currency_code, total.minor_units)
        }
        _ => (total.currency_code, 0),
    }
}

#[tonic::async_trait]
impl EventHandler for OrderEvents {
    fn group(&self) -> &'static str {
        "partners.order-events"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(changed) = ORDER.payload(event)? else {
            return Ok(());
        };
        let Some(order) = changed.order else {
            return Ok(());
        };
        let partner = names::parse_id(PARTNERS, &order.partner).ok();
        let view = order_view(&order);
        // An order without a partner matters only if it once had one.
        if partner.is_none() && !self.app.credited(&event.tenant, &view.id).await? {
            return Ok(());
        }
        let Some(mut w) = self.app.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        if let Some(partner) = partner {
            let (currency, amount) = counted(&order);
            let now = w.now();
            let at = order
                .create_time
                .as_ref()
                .and_then(from_timestamp)
                .unwrap_or(now);
            attributions::upsert(
                w.tx(),
                &event.tenant,
                &Attribution {
                    partner_id: partner,
                    resource: order.name.clone(),
                    kind: Kind::Order,
                    currency,
                    amount,
                    converted: false,
                    state: opb::OrderState::try_from(order.state)
                        .map(|s| s.as_str_name().to_owned())
                        .unwrap_or_default(),
                    create_time: at,
                    update_time: now,
                },
            )
            .await?;
        }
        let settings = self.app.settings(&event.tenant).await?;
        commissions::reconcile(&mut w, &settings, &view, partner).await?;
        w.commit(()).await
    }
}
