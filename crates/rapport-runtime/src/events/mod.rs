//! Events, exactly once in effect: a change and its event commit in one transaction (the
//! outbox); the relay publishes outbox rows to the bus and deletes them; consumers record the
//! event ids they applied in the transaction of the effect, so redelivery is harmless. A crash at
//! any point loses nothing and applies nothing twice.
//!
//! Each producing service publishes to one stream named after it (`customers`); a consumer
//! subscribes to a stream under a group name, and each event reaches one member of each group.

mod bus;
mod consumer;
pub(crate) mod outbox;
mod published;
mod relay;

pub use bus::{Bus, Delivery, GroupSettings, Subscription, Tail, Tailed};
pub(crate) use consumer::mark_processed;
pub use consumer::{ConsumerState, Consumers, EventHandler, apply_once, run_handler};
pub use outbox::{NewEvent, append, append_many, unpack};
pub use published::Published;
pub use relay::{Relay, RelayHandle};

/// The envelope type, re-exported for handlers.
pub use rapport_proto::event::Event;

/// The actor of changes the services make on their own (sweeps, consumers of events).
pub const SYSTEM: &str = "system";

/// `type.googleapis.com/<full name>`, the type URL of a payload in `Event.data`.
pub fn type_url(full_name: &str) -> String {
    format!("type.googleapis.com/{full_name}")
}
