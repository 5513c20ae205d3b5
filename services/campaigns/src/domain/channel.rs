//! The channels a message reaches a customer on.

use serde::{Deserialize, Serialize};

/// A channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
    InApp,
    Webhook,
}

impl Channel {
    /// Every channel, in the order of the proto enum.
    pub const ALL: [Channel; 4] = [
        Channel::Sms,
        Channel::Email,
        Channel::InApp,
        Channel::Webhook,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::InApp => "in_app",
            Channel::Webhook => "webhook",
        }
    }

    /// The channel stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}
