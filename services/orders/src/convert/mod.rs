//! proto ↔ domain for the orders service: requests parsed with every bad field reported at
//! once, answers and event payloads built from the domain.

pub mod analytics;
pub mod catalog;
pub mod delivery;
pub mod loan;
pub mod order;
pub mod recommend;
pub mod returns;
pub mod settings;

pub use rapport_kit::validate::{id_in, optional_id_in};

pub use rapport_kit::validate::optional_time;
