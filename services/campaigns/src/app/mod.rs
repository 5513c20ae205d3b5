//! The service's use cases: what loads, decides and writes, whoever asks. Nothing here knows
//! of gRPC requests: `api/` parses them and calls these.

pub mod campaigns;
pub mod coupons;
pub mod events;
pub mod members;
pub mod settings;
pub mod state;

pub use state::App;
