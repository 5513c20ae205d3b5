//! What the service does, apart from gRPC: each use case loads what it needs, decides and
//! writes, with its events, in one transaction. The gRPC face parses requests, checks the
//! caller's role and calls these.

pub mod bulk;
pub mod creates;
pub mod customers;
pub mod duplicate_policy;
pub mod duplicates;
pub mod events;
pub mod import;
pub mod ownership;
pub mod paging;
pub mod relationships;
pub mod segments;
pub mod settings;
pub mod state;
pub mod timeline;
pub mod value;
pub mod visibility;

pub use state::App;
