//! Types and rules of customers. No tonic, no sqlx, no I/O.

pub mod activity;
pub mod change;
pub mod consent;
pub mod contact;
pub mod custom_fields;
pub mod duplicates;
pub mod merge;
pub mod names;
pub mod profile;
pub mod relationship;
pub mod segment;
pub mod settings;
pub mod transfer;
pub mod value;
pub mod visibility;
