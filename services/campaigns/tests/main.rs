//! The campaigns service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`.

#[allow(dead_code)]
mod common;
mod settings;
mod strategies;
