//! The partners service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`. The customers, leads and orders services run
//! beside it: approved registrations become leads there, conflicts are looked for there, and
//! what partners bring is learned from their events.

mod commissions;
#[allow(dead_code)]
mod common;
mod keys;
mod partners;
mod registrations;
mod tiers;
mod webhooks;

// The orders tests' clients and fixtures (a furniture catalog, customers, orders), shared
// rather than written again; not every one is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../orders/tests/common/mod.rs"]
mod orders_common;

// The leads tests' fixtures (teams and reps to assign leads to).
#[allow(dead_code, unused_imports)]
#[path = "../../leads/tests/common/mod.rs"]
mod leads_common;
