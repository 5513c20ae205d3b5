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
    let mut ids = append_many(tx, vec![event], now).await?;
    Ok(ids.pop().unwrap_or_default())
}

/// Rows per multi-row INSERT into the outbox.
const CHUNK: usize = 500;

/// Appends several events in as few statements as possible (bulk imports emit one per row).
/// Returns their ids, in order.
pub async fn append_many(
    tx: &mut Tx,
    events: Vec<NewEvent<'_>>,
    now: Micros,
) -> Result<Vec<String>> {
    let traceparent = crate::telemetry::current_traceparent().unwrap_or_default();
    let mut ids = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let (id, stream, bytes) = envelope(event, now, &traceparent);
        ids.push(id.clone());
        rows.push((id, stream, bytes));
    }
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, ${})",
                    i * 4 + 1,
                    i * 4 + 2,
                    i * 4 + 3,
                    i * 4 + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO outbox (id, stream, payload, create_time) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (id, stream, bytes) in chunk {
            q = q
                .bind(id.as_str())
                .bind(stream.as_str())
                .bind(bytes.as_slice())
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(ids)
}

fn envelope(event: NewEvent<'_>, now: Micros, traceparent: &str) -> (String, String, Vec<u8>) {
    let id = uuid::Uuid::now_v7().to_string();
    let envelope = Event {
        id: id.clone(),
        source: format!("rapport.{}", event.stream),
        r#type: event.event_type.to_owned(),
        subject: event.subject,
        time: Some(crate::clock::to_timestamp(now)),
        tenant: event.tenant.to_owned(),
        traceparent: traceparent.to_owned(),
        actor: event.actor.to_owned(),
        data: Some(prost_types::Any {
            type_url: super::type_url(event.payload_type),
            value: event.payload,
        }),
    };
    (id, event.stream.to_owned(), envelope.encode_to_vec())
}
