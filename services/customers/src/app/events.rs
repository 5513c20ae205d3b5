//! What the service announces: its event stream, and the events about a customer's life and
//! about segments.

use rapport_proto::customers as pb;
use rapport_runtime::write::{EventSource, Write};

/// Where this service's events come from.
pub const EVENTS: EventSource = EventSource {
    stream: "customers",
};

/// Announces `customer` as created.
pub fn created(w: &mut Write, customer: pb::Customer) {
    let name = customer.name.clone();
    let event = pb::CustomerCreated {
        customer: Some(customer),
    };
    w.emit("customer.created", name, &event);
}

/// Announces that `changed_fields` of `customer` changed.
pub fn updated(w: &mut Write, customer: pb::Customer, changed_fields: Vec<String>) {
    let name = customer.name.clone();
    let event = pb::CustomerUpdated {
        customer: Some(customer),
        changed_fields,
    };
    w.emit("customer.updated", name, &event);
}

/// Announces `customer` as deleted.
pub fn deleted(w: &mut Write, customer: pb::Customer) {
    let name = customer.name.clone();
    let event = pb::CustomerDeleted {
        customer: Some(customer),
    };
    w.emit("customer.deleted", name, &event);
}

/// Announces `customer` as back.
pub fn undeleted(w: &mut Write, customer: pb::Customer) {
    let name = customer.name.clone();
    let event = pb::CustomerUndeleted {
        customer: Some(customer),
    };
    w.emit("customer.undeleted", name, &event);
}

/// Announces `segment` as created.
pub fn segment_created(w: &mut Write, segment: pb::Segment) {
    let name = segment.name.clone();
    let event = pb::SegmentCreated {
        segment: Some(segment),
    };
    w.emit("segment.created", name, &event);
}

/// Announces that `changed_fields` of `segment` changed.
pub fn segment_updated(w: &mut Write, segment: pb::Segment, changed_fields: Vec<String>) {
    let name = segment.name.clone();
    let event = pb::SegmentUpdated {
        segment: Some(segment),
        changed_fields,
    };
    w.emit("segment.updated", name, &event);
}

/// Announces `segment` as deleted.
pub fn segment_deleted(w: &mut Write, segment: pb::Segment) {
    let name = segment.name.clone();
    let event = pb::SegmentDeleted {
        segment: Some(segment),
    };
    w.emit("segment.deleted", name, &event);
}
