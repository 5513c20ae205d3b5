//! The service's use cases: what loads, decides and writes, whoever asks. Nothing here knows
//! of gRPC requests: `api/` parses them and calls these.

pub mod analytics;
pub mod api_keys;
pub mod commissions;
pub mod events;
pub mod partners;
pub mod registrations;
pub mod state;
pub mod tiers;
pub mod webhook_deliveries;
pub mod webhooks;

pub use events::EVENTS;
pub use state::{App, Viewer, viewer};
