//! The service's enums between proto numbers and the domain, one table each.

use prost::UnknownEnumValue;
use rapport_kit::enums::{read, write};
use rapport_proto::partners as pb;

use crate::{
    domain::{partner, registration},
    store::attributions,
};

const KINDS: [(pb::PartnerKind, partner::Kind); 4] = [
    (pb::PartnerKind::Agent, partner::Kind::Agent),
    (pb::PartnerKind::Dealer, partner::Kind::Dealer),
    (pb::PartnerKind::Reseller, partner::Kind::Reseller),
    (pb::PartnerKind::Referrer, partner::Kind::Referrer),
];

const PARTNER_STATES: [(pb::PartnerState, partner::State); 5] = [
    (pb::PartnerState::Prospect, partner::State::Prospect),
    (pb::PartnerState::Onboarding, partner::State::Onboarding),
    (pb::PartnerState::Active, partner::State::Active),
    (pb::PartnerState::Suspended, partner::State::Suspended),
    (pb::PartnerState::Terminated, partner::State::Terminated),
];

const REGISTRATION_STATES: [(pb::RegistrationState, registration::State); 5] = [
    (
        pb::RegistrationState::Submitted,
        registration::State::Submitted,
    ),
    (
        pb::RegistrationState::Approved,
        registration::State::Approved,
    ),
    (
        pb::RegistrationState::Rejected,
        registration::State::Rejected,
    ),
    (pb::RegistrationState::Lapsed, registration::State::Lapsed),
    (
        pb::RegistrationState::Converted,
        registration::State::Converted,
    ),
];

const ATTRIBUTION_KINDS: [(pb::AttributionKind, attributions::Kind); 3] = [
    (pb::AttributionKind::Lead, attributions::Kind::Lead),
    (pb::AttributionKind::Customer, attributions::Kind::Customer),
    (pb::AttributionKind::Order, attributions::Kind::Order),
];

/// A partner kind from its proto number.
pub fn kind(raw: i32) -> Result<Option<partner::Kind>, UnknownEnumValue> {
    read(&KINDS, raw)
}

/// A partner kind's proto number.
pub fn kind_to_proto(k: partner::Kind) -> i32 {
    write(&KINDS, k)
}

/// A partner state from its proto number.
pub fn partner_state(raw: i32) -> Result<Option<partner::State>, UnknownEnumValue> {
    read(&PARTNER_STATES, raw)
}

/// A partner state's proto number.
pub fn partner_state_to_proto(s: partner::State) -> i32 {
    write(&PARTNER_STATES, s)
}

/// A registration state from its proto number.
pub fn registration_state(raw: i32) -> Result<Option<registration::State>, UnknownEnumValue> {
    read(&REGISTRATION_STATES, raw)
}

/// A registration state's proto number.
pub fn registration_state_to_proto(s: registration::State) -> i32 {
    write(&REGISTRATION_STATES, s)
}

/// An attribution kind from its proto number.
pub fn attribution_kind(raw: i32) -> Result<Option<attributions::Kind>, UnknownEnumValue> {
    read(&ATTRIBUTION_KINDS, raw)
}

/// An attribution kind's proto number.
pub fn attribution_kind_to_proto(k: attributions::Kind) -> i32 {
    write(&ATTRIBUTION_KINDS, k)
}
