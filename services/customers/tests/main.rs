//! The customers service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`.

mod access;
mod bulk;
mod common;
mod crud;
mod duplicates;
mod ownership;
mod relationships;
mod segments;
mod settings;
mod timeline;
mod value;
