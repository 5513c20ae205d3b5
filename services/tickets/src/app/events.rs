//! What the service announces: its event stream, and how a ticket's change is announced and
//! recorded in its history together.

use rapport_proto::tickets as pb;
use rapport_runtime::write::{EventSource, Write};
use uuid::Uuid;

use crate::{
    convert::ticket::{event_to_proto, ticket_to_proto},
    domain::ticket::Ticket,
    store::history::Event,
};

/// Where this service's events come from.
pub const EVENTS: EventSource = EventSource { stream: "tickets" };

/// A history entry of `t` made at the write's time.
pub fn entry(w: &Write, t: &Ticket, kind: &str, actor: &str, detail: String) -> Event {
    Event {
        id: Uuid::now_v7(),
        ticket_id: t.id,
        kind: kind.to_owned(),
        actor_id: actor.to_owned(),
        detail,
        rule: String::new(),
        create_time: w.now(),
    }
}

/// Emits `ticket.<kind>` for `t` with the history entry `e`; the ticket's answer.
pub fn emit(w: &mut Write, kind: &str, t: &Ticket, e: &Event) -> pb::Ticket {
    let out = ticket_to_proto(t);
    w.emit(
        &format!("ticket.{kind}"),
        t.name(),
        &pb::TicketChanged {
            ticket: Some(out.clone()),
            event: Some(event_to_proto(e)),
        },
    );
    out
}
