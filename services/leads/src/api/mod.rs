//! The gRPC face of the leads service: one module per gRPC service, proto <-> domain
//! conversions in `convert`.

pub mod support;

pub use support::LeadsApi;
