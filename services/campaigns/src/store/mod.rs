//! SQL of the campaigns service, written once for PostgreSQL and SQLite; every query filters
//! on the tenant. Functions take a connection or transaction so the caller decides what
//! commits together.

pub mod campaigns;
pub mod coupons;
pub mod inbox;
pub mod members;
pub mod settings;
pub mod strategies;

pub(crate) use rapport_runtime::storage::{from_json, id_column as uuid, stored, to_json};
pub mod conversions;
pub mod recipients;
