//! Events the leads service consumes from the customers service: activities on a customer's
//! timeline count as follow-ups of the leads converted into that customer (LE7), and merged
//! customers are re-pointed. Each event is applied once (`apply_once`), and the lead's change
//! emits its own event in the same transaction.

use std::sync::Arc;

use prost::Message;
use rapport_proto::{customers as cpb, leads as pb};
use rapport_runtime::{
    Error, Result,
    clock::{SharedClock, from_timestamp},
    events::{Event, EventHandler, NewEvent, append, apply_once},
    storage::Db,
};

use crate::{
    api::{convert::lead::lead_to_proto, lead_crud::apply_follow_up},
    store,
};

const ACTIVITY_ADDED: &str = "rapport.customers.v1.activity.added";
const MERGED: &str = "rapport.customers.v1.customers.merged";

/// Consumes the customers stream.
pub struct CustomerEvents {
    pub db: Db,
    pub clock: SharedClock,
}

impl CustomerEvents {
    /// The handler, shared.
    pub fn handler(db: Db, clock: SharedClock) -> Arc<dyn EventHandler> {
        Arc::new(CustomerEvents { db, clock })
    }
}

fn payload<M: Message + Default>(event: &Event) -> Result<M> {
    let data = event
        .data
        .as_ref()
        .ok_or_else(|| Error::internal(format!("event {} has no payload", event.id)))?;
    M::decode(data.value.as_slice()).map_err(Error::internal)
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
        let now = self.clock.now();
        let tenant = event.tenant.clone();
        let dialect = self.db.dialect();
        match event.r#type.as_str() {
            ACTIVITY_ADDED => {
                let added: cpb::ActivityAdded = payload(event)?;
                let at = added
                    .activity
                    .as_ref()
                    .and_then(|a| a.occur_time.as_ref().or(a.create_time.as_ref()))
                    .and_then(from_timestamp)
                    .unwrap_or(now);
                apply_once(&self.db, self.group(), &event.id, now, |tx| {
                    Box::pin(async move {
                        let settings = store::settings::get_settings(tx, &tenant).await?;
                        let leads =
                            store::leads::leads_of_customer(tx, dialect, &tenant, &added.customer)
                                .await?;
                        for mut lead in leads {
                            apply_follow_up(&mut lead, at, &settings.grades());
                            lead.touch(now);
                            store::leads::update_lead(tx, &tenant, &lead).await?;
                            let bytes = pb::LeadChanged {
                                lead: Some(lead_to_proto(&lead)),
                            }
                            .encode_to_vec();
                            append(
                                tx,
                                NewEvent {
                                    stream: "leads",
                                    event_type: "rapport.leads.v1.lead.followed_up",
                                    subject: lead.resource_name(),
                                    tenant: &tenant,
                                    actor: "system",
                                    payload_type: "rapport.leads.v1.LeadChanged",
                                    payload: bytes,
                                    traceparent: None,
                                },
                                now,
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            }
            MERGED => {
                let merged: cpb::CustomersMerged = payload(event)?;
                apply_once(&self.db, self.group(), &event.id, now, |tx| {
                    Box::pin(async move {
                        store::leads::repoint_customers(
                            tx,
                            &tenant,
                            &merged.merged,
                            &merged.survivor,
                            now,
                        )
                        .await?;
                        Ok(())
                    })
                })
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
