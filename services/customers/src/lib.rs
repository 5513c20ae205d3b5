//! The customers service (PRODUCT.md CU1–CU10): profiles with custom fields, validation and
//! normalization, duplicates and merge, relationships, timeline, ownership, consent, bulk work.

pub mod api;
pub mod domain;
