//! The gRPC contracts of Rapport, generated from `proto/` at build time.
//!
//! This is the only crate that compiles protos; every other crate uses the modules here. Nothing
//! in it names a package: the build script compiles every `.proto` under `proto/rapport/`, so a
//! new package (a new service's `proto/rapport/<name>/v1/*.proto`) needs no edit here.
//!
//! - [`rapport`] is the module tree, one module per proto package (`rapport::customers::v1` for
//!   `rapport.customers.v1`). It mirrors the packages because generated code names sibling
//!   packages by relative paths.
//! - Each `rapport.<name>.v1` package also has a short alias at the crate root, which is what the
//!   rest of the workspace uses: [`customers`], [`leads`], [`event`], [`access`], and [`types`]
//!   for `rapport.type.v1` (`type` is a Rust keyword).
//! - Every message implements [`prost::Name`]: `<Msg as prost::Name>::full_name()` is its
//!   package-qualified name (`rapport.customers.v1.CustomerCreated`), and `type_url()` its type
//!   URL in an `Any` (`type.googleapis.com/<full name>`).
//! - Every client and server decodes with [`codec::Codec`], and [`FILE_DESCRIPTOR_SET`] serves
//!   reflection.
#![allow(clippy::all, missing_docs)]

pub mod codec;

// `pub mod rapport { pub mod customers { pub mod v1 { … } } … }`, one module per package.
include!(concat!(env!("OUT_DIR"), "/_includes.rs"));

// `pub use rapport::customers::v1 as customers;`, one per `rapport.<name>.v1` package.
include!(concat!(env!("OUT_DIR"), "/_aliases.rs"));

/// The encoded `FileDescriptorSet` of every Rapport proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rapport_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Name;

    #[test]
    fn aliases_are_the_v1_modules() {
        let _: super::types::Money = super::rapport::r#type::v1::Money::default();
        let _: super::customers::CustomerCreated =
            super::rapport::customers::v1::CustomerCreated::default();
    }

    #[test]
    fn messages_know_their_full_name_and_type_url() {
        assert_eq!(
            super::customers::CustomerCreated::full_name(),
            "rapport.customers.v1.CustomerCreated"
        );
        assert_eq!(super::types::Money::full_name(), "rapport.type.v1.Money");
        assert_eq!(
            super::access::AccessRevoked::type_url(),
            "type.googleapis.com/rapport.access.v1.AccessRevoked"
        );
    }
}
