//! SQL of the campaigns service, written once for PostgreSQL and SQLite; every query filters
//! on the tenant. Functions take a connection or transaction so the caller decides what
//! commits together.

pub mod inbox;
pub mod settings;
pub mod strategies;

pub(crate) use rapport_runtime::storage::{
    enum_column as stored, id_column as uuid, json_column as from_json, to_json_column as to_json,
};
pub mod conversions;
pub mod recipients;
