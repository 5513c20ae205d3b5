//! Tenant-defined custom fields of customers: the kit's typed fields, under `custom_fields`.

pub use rapport_kit::fields::*;

/// Where customers' custom fields and their definitions are reported.
pub const LIST: &str = "custom_fields";
