//! The leads service through its gRPC API, on every backend: one test binary, a module per area,
//! with the helpers they share in `common`.

mod analytics;
mod common;
mod convert;
mod handover;
mod lead_settings;
mod leads;
mod malformed;
mod org;
mod pipelines;
mod pools;
mod reclaim;
mod tasks;
