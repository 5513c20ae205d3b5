//! The campaigns service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`. The customers and orders services run beside
//! it: invited customers and coupons' customers are checked there, and orders redeem coupons.

mod access;
mod campaigns;
#[allow(dead_code)]
mod common;
mod coupons;
mod events;
mod settings;

// The orders tests' clients and fixtures (a furniture catalog, customers, orders), shared
// rather than written again; not every one is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../orders/tests/common/mod.rs"]
mod orders_common;
