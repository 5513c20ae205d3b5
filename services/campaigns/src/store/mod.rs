//! SQL of the campaigns service, written once for PostgreSQL and SQLite; every query filters
//! on the tenant. Functions take a connection or transaction so the caller decides what
//! commits together.

pub mod campaigns;
pub mod coupons;
pub mod members;
pub mod settings;
