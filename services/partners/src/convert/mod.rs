//! proto ↔ domain for the partners service: requests parsed with every bad field reported at
//! once, answers and event payloads built from the domain.

pub mod api_key;
pub mod commission;
pub mod enums;
pub mod partner;
pub mod registration;
pub mod settings;
pub mod tier;
pub mod webhook;
pub mod webhook_event;

use rapport_runtime::clock::to_timestamp;

/// An optional time as a proto timestamp.
pub(crate) fn time(micros: Option<i64>) -> Option<prost_types::Timestamp> {
    micros.map(to_timestamp)
}
