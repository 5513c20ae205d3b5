//! The service's use cases: what loads, decides and writes, whoever asks. Nothing here knows
//! of gRPC requests: `api/` parses them and calls these.

pub mod analytics;
pub mod catalog;
pub mod deliveries;
pub mod events;
pub mod orders;
pub mod returns;
pub mod state;

pub use events::EVENTS;
pub use state::{App, scope};
