//! Types and rules of the leads service; no gRPC, no SQL, no I/O.

pub mod alert;
pub mod analytics;
pub mod assign;
pub mod assignment_kind;
pub mod conversion;
pub mod duplicates;
pub mod dwell;
pub mod lead;
pub mod opportunity;
pub mod org;
pub mod pipeline;
pub mod reclaim;
pub mod settings;
pub mod task;
pub mod transfer;
pub mod visibility;
