//! Appending events in the transaction of the change that caused them.

use prost::Message;
use rapport_proto::event::Event;

use crate::{Result, clock::Micros, storage::Tx};

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The producing service's stream, e.g. `customers`.
    pub stream: &'a str,
    /// The event type, e.g. `rapport.customers.v1.customer.created`.
    pub event_type: &'a str,
    /// The resource the event is about, e.g. `customers/…`.
    pub subject: String,
    /// The tenant.
    pub tenant: &'a str,
    /// Who made the change.
    pub actor: &'a str,
    /// Full proto name of the payload, e.g. `rapport.customers.v1.CustomerCreated`.
    pub payload_type: &'a str,
    /// The encoded payload.
    pub payload: Vec<u8>,
}

/// Appends an event to the outbox inside `tx`; it is published only if `tx` commits.
/// Returns the event id.
pub async fn append(tx: &mut Tx, event: NewEvent<'_>, now: Micros) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let envelope = Event {
        id: id.clone(),
        source: format!("rapport.{}", event.stream),
        r#type: event.event_type.to_owned(),
        subject: event.subject,
        time: Some(crate::clock::to_timestamp(now)),
        tenant: event.tenant.to_owned(),
        traceparent: crate::telemetry::current_traceparent().unwrap_or_default(),
        actor: event.actor.to_owned(),
        data: Some(prost_types::Any {
            type_url: super::type_url(event.payload_type),
            value: event.payload,
        }),
    };
    sqlx::query("INSERT INTO outbox (id, stream, payload, create_time) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(event.stream)
        .bind(envelope.encode_to_vec())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}
