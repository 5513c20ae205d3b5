//! The leads service through its gRPC API, on every backend: one test binary, a module per area,
//! with the helpers they share in `common`. Only the leads service runs; what needs the customers
//! service too is tested in `tests/e2e`.

mod analytics;
mod common;
mod lead_settings;
mod leads;
mod org;
mod pipelines;
mod pools;
mod reclaim;
mod tasks;
