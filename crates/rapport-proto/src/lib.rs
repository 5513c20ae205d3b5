//! The gRPC contracts of Rapport, generated from `proto/` at build time.
//!
//! This is the only crate that compiles protos; every other crate uses the modules here. The
//! module tree mirrors the proto packages because generated code names sibling packages by
//! relative paths; the short aliases below are what the rest of the workspace uses.
#![allow(clippy::all, missing_docs)]

pub mod codec;

/// Generated modules, one per proto package.
pub mod rapport {
    /// `rapport.type.*`
    pub mod r#type {
        /// `rapport.type.v1`: money, dates.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rapport.r#type.v1.rs"));
        }
    }
    /// `rapport.event.*`
    pub mod event {
        /// `rapport.event.v1`: the event envelope.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rapport.event.v1.rs"));
        }
    }
    /// `rapport.access.*`
    pub mod access {
        /// `rapport.access.v1`: revoking access across the suite.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rapport.access.v1.rs"));
        }
    }
    /// `rapport.customers.*`
    pub mod customers {
        /// `rapport.customers.v1`: the customers service.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rapport.customers.v1.rs"));
        }
    }
    /// `rapport.leads.*`
    pub mod leads {
        /// `rapport.leads.v1`: leads, pools, assignment, pipelines, tasks, analytics.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rapport.leads.v1.rs"));
        }
    }
}

pub use rapport::access::v1 as access;
pub use rapport::customers::v1 as customers;
pub use rapport::event::v1 as event;
pub use rapport::leads::v1 as leads;
pub use rapport::r#type::v1 as types;

/// The encoded `FileDescriptorSet` of every Rapport proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rapport_descriptor.bin"));
