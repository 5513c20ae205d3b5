//! SQL of the partners service, written once for PostgreSQL and SQLite; every query filters on
//! the tenant. Functions take a connection or transaction so the caller decides what commits
//! together.

pub mod analytics;
pub mod api_keys;
pub mod attributions;
pub mod commissions;
pub mod partners;
pub mod registrations;
pub mod settings;
pub mod tiers;
pub mod webhooks;

pub(crate) use rapport_runtime::storage::{from_json, id_column as uuid, stored, to_json};
