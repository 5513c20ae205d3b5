//! Events the leads service consumes: from the customers service, activities on a customer's
//! timeline count as follow-ups of the leads converted into that customer (LE7), and merged
//! customers are re-pointed; from the orders service, a confirmed order wins the opportunity
//! it closes; from the partners service, an approved deal registration becomes a lead
//! attributed to its partner, with the id the registration named. Each event is applied once (`ctx.consume`), and what it changes emits its own
//! events in the same transaction.

use std::sync::Arc;

use rapport_kit::names;
use rapport_kit::settings;
use rapport_proto::{customers as cpb, leads as pb, orders as opb, partners as ppb};
use rapport_runtime::validation::Violations;
use rapport_runtime::{
    Result,
    clock::from_timestamp,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};

use crate::{
    app::{EVENTS, leads::apply_follow_up, opportunities::win_by_order},
    convert::lead::{lead_to_proto, parse_input},
    domain::lead::Lead,
    domain::settings::Settings,
    store,
};

const ACTIVITY_ADDED: Published<cpb::ActivityAdded> = Published::new("activity.added");
const MERGED: Published<cpb::CustomersMerged> = Published::new("customers.merged");
const ORDER_CONFIRMED: Published<opb::OrderChanged> = Published::new("order.confirmed");
const REGISTRATION_APPROVED: Published<ppb::RegistrationChanged> =
    Published::new("registration.approved");
/// The actor of what order events change.
const ORDER_ACTOR: &str = "rapport-leads/orders";

/// Consumes the customers stream.
pub struct CustomerEvents {
    ctx: ServiceContext,
}

impl CustomerEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(CustomerEvents { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for CustomerEvents {
    fn group(&self) -> &'static str {
        "leads.customer-events"
    }

    fn stream(&self) -> &'static str {
        "customers"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        if let Some(added) = ACTIVITY_ADDED.payload(event)? {
            self.followed_up(event, added).await
        } else if let Some(merged) = MERGED.payload(event)? {
            self.merged(event, merged).await
        } else {
            Ok(())
        }
    }
}

impl CustomerEvents {
    /// An activity on a customer's timeline is a follow-up of the leads converted into it.
    async fn followed_up(&self, event: &Event, added: cpb::ActivityAdded) -> Result<()> {
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let now = w.now();
        let at = added
            .activity
            .as_ref()
            .and_then(|a| a.occur_time.as_ref().or(a.create_time.as_ref()))
            .and_then(from_timestamp)
            .unwrap_or(now);
        let tenant = event.tenant.clone();
        let dialect = self.ctx.db.dialect();
        let settings: Settings = settings::read(w.tx(), &tenant).await?;
        let leads =
            store::leads::leads_of_customer(w.tx(), dialect, &tenant, &added.customer).await?;
        for mut lead in leads {
            apply_follow_up(&mut lead, at, &settings.grades());
            lead.touch(now);
            store::leads::update_lead(w.tx(), &tenant, &lead).await?;
            let changed = pb::LeadChanged {
                lead: Some(lead_to_proto(&lead)),
            };
            w.emit("lead.followed_up", lead.resource_name(), &changed);
        }
        w.commit(()).await
    }

    /// Leads of merged customers now point at the survivor.
    async fn merged(&self, event: &Event, merged: cpb::CustomersMerged) -> Result<()> {
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let now = w.now();
        store::leads::repoint_customers(
            w.tx(),
            &event.tenant,
            &merged.merged,
            &merged.survivor,
            now,
        )
        .await?;
        w.commit(()).await
    }
}

/// Consumes the orders stream.
pub struct OrderEvents {
    ctx: ServiceContext,
}

impl OrderEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(OrderEvents { ctx })
    }
}

#[tonic::async_trait]
impl EventHandler for OrderEvents {
    fn group(&self) -> &'static str {
        "leads.order-events"
    }

    fn stream(&self) -> &'static str {
        "orders"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(changed) = ORDER_CONFIRMED.payload(event)? else {
            return Ok(());
        };
        // An order that closes no opportunity (or names it badly) changes nothing here.
        let Some(id) = changed
            .order
            .as_ref()
            .and_then(|o| names::parse_id("opportunities", &o.opportunity).ok())
        else {
            return Ok(());
        };
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        win_by_order(&mut w, &event.tenant, id, ORDER_ACTOR).await?;
        w.commit(()).await
    }
}

/// Consumes the partners stream.
pub struct PartnerEvents {
    ctx: ServiceContext,
}

impl PartnerEvents {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(PartnerEvents { ctx })
    }
}

/// The lead an approved registration asks for: the prospect, from a partner, with what the
/// partner knows of the deal.
fn registration_lead(r: &ppb::Registration) -> pb::Lead {
    let display_name = if r.organization.is_empty() {
        r.contact_name.clone()
    } else {
        format!("{} ({})", r.contact_name, r.organization)
    };
    pb::Lead {
        display_name: display_name.chars().take(200).collect(),
        phone: r.phone.clone(),
        email: r.email.clone(),
        source: pb::LeadSource::Partner as i32,
        attribution: Some(pb::Attribution {
            partner_id: r.partner.clone(),
            channel: "partner-registration".into(),
            ..Default::default()
        }),
        needs: Some(pb::Needs {
            description: r.notes.clone(),
            ..Default::default()
        }),
        region: r.region.clone(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl EventHandler for PartnerEvents {
    fn group(&self) -> &'static str {
        "leads.partner-events"
    }

    fn stream(&self) -> &'static str {
        "partners"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(changed) = REGISTRATION_APPROVED.payload(event)? else {
            return Ok(());
        };
        let Some(r) = changed.registration else {
            return Ok(());
        };
        // The registration names its lead, so a replay finds it made.
        let Ok(id) = names::parse_id("leads", &r.lead) else {
            return Ok(());
        };
        let mut v = Violations::new();
        let input = parse_input(&registration_lead(&r), &mut v);
        if let Err(bad) = v.finish(()) {
            tracing::warn!(registration = %r.name, problems = ?bad, "an approved registration makes no lead");
            return Ok(());
        }
        let Some(mut w) = self.ctx.consume(self.group(), event, EVENTS).await? else {
            return Ok(());
        };
        let tenant = event.tenant.clone();
        if store::leads::get_lead(w.tx(), &tenant, id).await?.is_some() {
            return w.commit(()).await;
        }
        let settings: Settings = settings::read(w.tx(), &tenant).await?;
        let mut lead = Lead::new(id, input, w.now());
        lead.rescore(&settings.grades());
        // The approver saw the registration's conflicts: duplicates are flagged, never refused.
        let holders = store::leads::find_holders(w.tx(), &tenant, &lead.input, Some(id)).await?;
        lead.possible_duplicates = holders.iter().map(|m| m.id).collect();
        store::leads::insert_lead(w.tx(), &tenant, &lead).await?;
        w.emit(
            "lead.created",
            lead.resource_name(),
            &pb::LeadChanged {
                lead: Some(lead_to_proto(&lead)),
            },
        );
        w.commit(()).await
    }
}
