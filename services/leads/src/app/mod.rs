//! The service's use cases: what loads, decides and writes, whoever asks (a gRPC handler, a
//! sweep, an event). Nothing here knows of gRPC: `api/` adapts requests to these, `sweeps/`
//! and `consumers` call them directly.

pub mod alerts;
pub mod events;
pub mod leads;
pub mod opportunities;
pub mod state;

pub use events::EVENTS;
pub use state::{App, check_etag, check_lead_etag, require_live, scope};
