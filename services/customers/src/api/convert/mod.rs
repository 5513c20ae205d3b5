//! proto <-> domain conversions. Parsing a request collects every bad field (`Violations`).

pub mod activity;
pub mod consent;
pub mod customer;
pub mod json;
pub mod relationship;
pub mod settings;
