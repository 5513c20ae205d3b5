//! The gRPC face of the service: the `CustomerService` implementation.

pub mod convert;
