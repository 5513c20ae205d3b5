//! The service's enums between proto numbers and the domain, one table each.

use prost::UnknownEnumValue;
use rapport_kit::enums::{read, write};
use rapport_proto::campaigns as pb;

use crate::domain::channel::Channel;

const CHANNELS: [(pb::Channel, Channel); 4] = [
    (pb::Channel::Sms, Channel::Sms),
    (pb::Channel::Email, Channel::Email),
    (pb::Channel::InApp, Channel::InApp),
    (pb::Channel::Webhook, Channel::Webhook),
];

/// A channel from its proto number.
pub fn channel(raw: i32) -> Result<Option<Channel>, UnknownEnumValue> {
    read(&CHANNELS, raw)
}

/// A channel's proto number.
pub fn channel_to_proto(c: Channel) -> i32 {
    write(&CHANNELS, c)
}
