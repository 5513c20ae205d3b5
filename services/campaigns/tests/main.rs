//! The campaigns service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`. The customers and orders services run beside
//! it: invited customers and coupons' customers are checked there, and orders redeem coupons.

mod access;
mod campaigns;
#[allow(dead_code)]
mod common;
mod coupons;
mod events;
mod inbox;
mod sends;
mod settings;
mod strategies;

// The leads, orders and tickets tests' clients and fixtures (reps' tasks, confirmed orders and
// a furniture catalog, agents, queues and complaints), shared rather than written again: the
// inbox is made from what those services raise, and runs measure the orders they bring. Not
// every one is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../leads/tests/common/mod.rs"]
mod leads_common;
#[allow(dead_code, unused_imports)]
#[path = "../../orders/tests/common/mod.rs"]
mod orders_common;
#[allow(dead_code, unused_imports)]
#[path = "../../tickets/tests/common/mod.rs"]
mod tickets_common;
