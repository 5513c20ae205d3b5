//! What the service announces.

use rapport_runtime::write::EventSource;

/// Where this service's events come from.
pub const EVENTS: EventSource = EventSource {
    stream: "campaigns",
};
