//! The service's use cases: what loads, decides and writes, whoever asks. Nothing here knows
//! of gRPC requests: `api/` parses them and calls these.

pub mod analytics;
pub mod events;
pub mod queues;
pub mod routing;
pub mod settings;
pub mod sla;
pub mod state;
pub mod tickets;

pub use events::EVENTS;
pub use state::{App, Sees, sees};
