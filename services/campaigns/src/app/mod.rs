//! The service's use cases: what loads, decides and writes, whoever asks. Nothing here knows
//! of gRPC requests: `api/` parses them and calls these.

pub mod campaigns;
pub mod coupons;
pub mod events;
pub mod inbox;
pub mod members;
pub mod runs;
pub mod sends;
pub mod settings;
pub mod state;
pub mod strategies;

pub use events::EVENTS;
pub use state::App;
