//! proto <-> domain conversions. Parsing a request collects every bad field (`Violations`).

pub mod activity;
pub mod change;
pub mod consent;
pub mod customer;
pub mod customer_mask;
pub mod enums;
#[cfg(test)]
mod fixtures;
pub mod json;
pub mod order;
pub mod relationship;
pub mod segment;
pub mod settings;
pub mod value;
