//! Appending events in the transaction of the change that caused them.

use prost::Message;
use rapport_proto::event::Event;

use crate::{
    Result,
    clock::Micros,
    storage::{Statement, Tx},
};

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
    /// The W3C trace context of the request that made the change; `None` takes the current
    /// span's.
    pub traceparent: Option<String>,
}

/// Appends an event to the outbox inside `tx`; it is published only if `tx` commits.
/// Returns the event id.
pub async fn append(tx: &mut Tx, event: NewEvent<'_>, now: Micros) -> Result<String> {
    let mut ids = append_many(tx, vec![event], now).await?;
    Ok(ids.pop().unwrap_or_default())
}

/// Events per outbox row: bounds the relay's memory (a batch of rows holds at most this many
/// events per row) while a bulk write still costs one row per few hundred events.
const EVENTS_PER_ROW: usize = 256;
/// Rows per multi-row INSERT into the outbox.
const ROWS_PER_INSERT: usize = 100;

/// Appends several events in as few rows and statements as possible: the events of one stream
/// share a row, as length-delimited envelopes, so a write that emits thousands of events (a
/// bulk import, a reclaim sweep) adds a handful of rows for the relay to publish and delete.
/// Returns the event ids, in order.
pub async fn append_many(
    tx: &mut Tx,
    events: Vec<NewEvent<'_>>,
    now: Micros,
) -> Result<Vec<String>> {
    let (ids, stmts) = statements(events, now);
    for s in &stmts {
        s.execute(tx).await?;
    }
    Ok(ids)
}

/// The statements that append `events` (see [`append_many`]), for a caller that runs them
/// with others; and the event ids, in order.
pub fn statements(events: Vec<NewEvent<'_>>, now: Micros) -> (Vec<String>, Vec<Statement>) {
    let (ids, stmts, _) = statements_copying(events, now, |_| false);
    (ids, stmts)
}

/// An encoded event and its stream, as a write publishes it at once.
pub type Copy<'s> = (&'s str, Vec<u8>);

/// As [`statements`], also returning a copy of each encoded event whose index `copied` picks,
/// for a write that publishes them at once besides (see [`crate::write::Write::emit_at_once`]).
pub fn statements_copying<'s>(
    events: Vec<NewEvent<'s>>,
    now: Micros,
    copied: impl Fn(usize) -> bool,
) -> (Vec<String>, Vec<Statement>, Vec<Copy<'s>>) {
    let current = crate::telemetry::current_traceparent().unwrap_or_default();
    let mut ids = Vec::with_capacity(events.len());
    let mut copies = Vec::new();
    // (first event id, stream, payload, event count)
    let mut rows: Vec<(String, &str, Vec<u8>, i64)> = Vec::new();
    for (i, event) in events.into_iter().enumerate() {
        let stream = event.stream;
        let (id, bytes) = envelope(event, now, &current);
        if copied(i)
            && let Ok(mut one) = unpack(&bytes, 1)
            && let Some(raw) = one.pop()
        {
            copies.push((stream, raw.to_vec()));
        }
        match rows.last_mut() {
            Some(row) if row.1 == stream && (row.3 as usize) < EVENTS_PER_ROW => {
                row.2.extend_from_slice(&bytes);
                row.3 += 1;
            }
            _ => rows.push((id.clone(), stream, bytes, 1)),
        }
        ids.push(id);
    }
    let mut stmts = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5
                )
            })
            .collect();
        let mut s = Statement::new(format!(
            "INSERT INTO outbox (id, stream, payload, create_time, events) VALUES {}",
            values.join(", ")
        ));
        for (id, stream, bytes, count) in chunk {
            s = s.bind(id).bind(stream).bind(bytes).bind(now).bind(count);
        }
        stmts.push(s);
    }
    (ids, stmts, copies)
}

/// The encoded events of an outbox row holding `events` of them (see [`append_many`]).
pub fn unpack(payload: &[u8], events: i64) -> Result<Vec<&[u8]>> {
    if events == 0 {
        return Ok(vec![payload]);
    }
    let mut out = Vec::with_capacity(usize::try_from(events).unwrap_or_default());
    let mut rest = payload;
    while !rest.is_empty() {
        let len = prost::encoding::decode_varint(&mut rest)
            .map_err(|e| crate::Error::internal(format!("corrupt outbox row: {e}")))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > rest.len() {
            return Err(crate::Error::internal(
                "corrupt outbox row: truncated event",
            ));
        }
        let (event, tail) = rest.split_at(len);
        out.push(event);
        rest = tail;
    }
    Ok(out)
}

/// The event's id and its envelope, length-delimited.
fn envelope(event: NewEvent<'_>, now: Micros, current_traceparent: &str) -> (String, Vec<u8>) {
    let id = uuid::Uuid::now_v7().to_string();
    let envelope = Event {
        id: id.clone(),
        source: format!("rapport.{}", event.stream),
        r#type: event.event_type.to_owned(),
        subject: event.subject,
        time: Some(crate::clock::to_timestamp(now)),
        tenant: event.tenant.to_owned(),
        traceparent: event
            .traceparent
            .unwrap_or_else(|| current_traceparent.to_owned()),
        actor: event.actor.to_owned(),
        data: Some(prost_types::Any {
            type_url: super::type_url(event.payload_type),
            value: event.payload,
        }),
    };
    (id, envelope.encode_length_delimited_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(traceparent: Option<&str>) -> NewEvent<'static> {
        NewEvent {
            stream: "things",
            event_type: "rapport.test.v1.thing.made",
            subject: "things/1".into(),
            tenant: "t1",
            actor: "a",
            payload_type: "google.protobuf.Empty",
            payload: Vec::new(),
            traceparent: traceparent.map(str::to_owned),
        }
    }

    #[test]
    fn an_event_keeps_the_trace_of_the_request_that_made_it() {
        let given = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (_, bytes) = envelope(event(Some(given)), 1, "00-other");
        let e = Event::decode_length_delimited(bytes.as_slice()).expect("event");
        assert_eq!(e.traceparent, given);
        // Without one of its own, an event takes the trace of the span that writes it.
        let (_, bytes) = envelope(event(None), 1, "00-current");
        let e = Event::decode_length_delimited(bytes.as_slice()).expect("event");
        assert_eq!(e.traceparent, "00-current");
    }
}
