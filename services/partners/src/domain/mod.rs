//! The partners service's rules, free of I/O: partners and their lifecycle, tiers and how a
//! partner earns one, deal registrations and what they collide on, and the tenant's settings.

pub mod analytics;
pub mod api_key;
pub mod commission;
pub mod partner;
pub mod registration;
pub mod settings;
pub mod tier;
pub mod webhook;
