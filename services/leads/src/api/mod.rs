//! The gRPC face of the leads service: one file per gRPC service or resource, each adapting
//! requests to the use cases in `app` (parse, authorize, call, convert the answer). Nothing
//! outside `api` imports it.

mod alerts;
mod analytics;
mod convert_lead;
mod handover;
mod lead_crud;
mod lead_settings;
mod leads;
mod opportunities;
mod org;
mod pipelines;
mod pools;
mod reps;
mod support;
mod tasks;
mod transfers;
