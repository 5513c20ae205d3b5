//! proto ↔ domain for the tickets service: requests parsed with every bad field reported at
//! once, answers and event payloads built from the domain.

pub mod analytics;
pub mod enums;
pub mod queue;
pub mod settings;
pub mod ticket;

pub use rapport_kit::validate::{id_in, optional_id_in};
