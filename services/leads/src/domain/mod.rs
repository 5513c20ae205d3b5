//! Types and rules of the leads service; no gRPC, no SQL, no I/O.

pub mod visibility;
