//! The tickets service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`. The customers and orders services run beside
//! it: a ticket's customer and order are checked there, and returns are created there.

mod analytics;
#[allow(dead_code)]
mod common;
mod faults;
mod returns;
mod routing;
mod sla;
mod tickets;
mod workflow;

// The orders tests' clients and fixtures (a furniture catalog, confirmed orders), shared
// rather than written again; not every one is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../orders/tests/common/mod.rs"]
mod orders_common;
