//! The service's enums between proto numbers and the domain: one table per enum, read both
//! ways, UNSPECIFIED as None.

use prost::UnknownEnumValue;
use rapport_kit::enums::{read, write};
use rapport_proto::tickets as pb;

use crate::domain::{
    queue::{AgentStatus, Strategy},
    sla::{SlaState, TargetKind},
    ticket::{Channel, Priority, State},
};

const PRIORITIES: [(pb::Priority, Priority); 4] = [
    (pb::Priority::Low, Priority::Low),
    (pb::Priority::Normal, Priority::Normal),
    (pb::Priority::High, Priority::High),
    (pb::Priority::Urgent, Priority::Urgent),
];

const CHANNELS: [(pb::Channel, Channel); 6] = [
    (pb::Channel::Phone, Channel::Phone),
    (pb::Channel::Store, Channel::Store),
    (pb::Channel::Im, Channel::Im),
    (pb::Channel::Email, Channel::Email),
    (pb::Channel::Web, Channel::Web),
    (pb::Channel::Partner, Channel::Partner),
];

const STATES: [(pb::TicketState, State); 8] = [
    (pb::TicketState::New, State::New),
    (pb::TicketState::Open, State::Open),
    (pb::TicketState::PendingCustomer, State::PendingCustomer),
    (pb::TicketState::PendingThirdParty, State::PendingThirdParty),
    (pb::TicketState::Escalated, State::Escalated),
    (pb::TicketState::Resolved, State::Resolved),
    (pb::TicketState::Closed, State::Closed),
    (pb::TicketState::Reopened, State::Reopened),
];

const TARGETS: [(pb::SlaTargetKind, TargetKind); 3] = [
    (pb::SlaTargetKind::FirstResponse, TargetKind::FirstResponse),
    (pb::SlaTargetKind::NextResponse, TargetKind::NextResponse),
    (pb::SlaTargetKind::Resolution, TargetKind::Resolution),
];

const SLA_STATES: [(pb::SlaState, SlaState); 4] = [
    (pb::SlaState::OnTrack, SlaState::OnTrack),
    (pb::SlaState::AtRisk, SlaState::AtRisk),
    (pb::SlaState::Breached, SlaState::Breached),
    (pb::SlaState::Met, SlaState::Met),
];

const STRATEGIES: [(pb::RoutingStrategy, Strategy); 3] = [
    (pb::RoutingStrategy::RoundRobin, Strategy::RoundRobin),
    (pb::RoutingStrategy::LeastBusy, Strategy::LeastBusy),
    (pb::RoutingStrategy::Skills, Strategy::Skills),
];

const AGENT_STATUSES: [(pb::AgentStatus, AgentStatus); 3] = [
    (pb::AgentStatus::Available, AgentStatus::Available),
    (pb::AgentStatus::Absent, AgentStatus::Absent),
    (pb::AgentStatus::Inactive, AgentStatus::Inactive),
];

pub fn priority(raw: i32) -> Result<Option<Priority>, UnknownEnumValue> {
    read(&PRIORITIES, raw)
}
pub fn priority_to_proto(d: Priority) -> i32 {
    write(&PRIORITIES, d)
}
pub fn channel(raw: i32) -> Result<Option<Channel>, UnknownEnumValue> {
    read(&CHANNELS, raw)
}
pub fn channel_to_proto(d: Channel) -> i32 {
    write(&CHANNELS, d)
}
pub fn state(raw: i32) -> Result<Option<State>, UnknownEnumValue> {
    read(&STATES, raw)
}
pub fn state_to_proto(d: State) -> i32 {
    write(&STATES, d)
}
pub fn target_kind(raw: i32) -> Result<Option<TargetKind>, UnknownEnumValue> {
    read(&TARGETS, raw)
}
pub fn sla_state(raw: i32) -> Result<Option<SlaState>, UnknownEnumValue> {
    read(&SLA_STATES, raw)
}
pub fn strategy(raw: i32) -> Result<Option<Strategy>, UnknownEnumValue> {
    read(&STRATEGIES, raw)
}
pub fn strategy_to_proto(d: Strategy) -> i32 {
    write(&STRATEGIES, d)
}
pub fn agent_status(raw: i32) -> Result<Option<AgentStatus>, UnknownEnumValue> {
    read(&AGENT_STATUSES, raw)
}
pub fn agent_status_to_proto(d: AgentStatus) -> i32 {
    write(&AGENT_STATUSES, d)
}
