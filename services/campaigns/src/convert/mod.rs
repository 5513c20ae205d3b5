//! proto ↔ domain for the campaigns service: requests parsed with every bad field reported at
//! once, answers and event payloads built from the domain.

pub mod campaign;
pub mod coupon;
pub mod enums;
pub mod inbox;
pub mod settings;
pub mod strategy;
