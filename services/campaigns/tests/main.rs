//! The campaigns service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`.

#[allow(dead_code)]
mod common;
mod sends;
mod settings;
mod strategies;

// The orders tests' clients and fixtures (a furniture catalog, orders), shared rather than
// written again; not every one is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../orders/tests/common/mod.rs"]
mod orders_common;
