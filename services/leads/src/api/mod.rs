//! The gRPC face of the leads service: one module per gRPC service, proto <-> domain
//! conversions in `convert`.

pub(crate) mod alerts;
mod analytics;
pub(crate) mod convert;
mod convert_lead;
pub(crate) mod dwell;
mod handover;
pub(crate) mod lead_crud;
mod lead_settings;
mod leads;
mod opportunities;
mod org;
mod pipelines;
pub(crate) mod pools;
pub(crate) mod reclaim;
pub(crate) mod reminders;
mod reps;
pub mod support;
mod tasks;
pub(crate) mod transfers;

pub use support::LeadsApi;
