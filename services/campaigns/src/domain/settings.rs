//! The tenant's campaign settings: attribution window, frequency caps, resting and pace.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::channel::Channel;

/// The settings' resource name.
pub const SETTINGS_NAME: &str = "campaignSettings";

/// Most caps, and most rates: one per channel at most.
pub const MAX_PER_CHANNEL: usize = 8;

/// What a channel sends at when the settings name no rate, per second per replica.
pub const DEFAULT_RATE: i32 = 50;

const DAY: Micros = 86_400_000_000;

/// At most `max_messages` marketing messages per customer on `channel` within `period_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    pub channel: Channel,
    pub max_messages: i32,
    pub period_days: i32,
}

impl Cap {
    /// The period in microseconds.
    pub fn period_micros(&self) -> Micros {
        i64::from(self.period_days) * DAY
    }
}

/// How fast `channel` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub channel: Channel,
    pub per_second: i32,
}

/// What a tenant decides about its campaigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// An order within this many days after a touch is attributed to it.
    pub attribution_window_days: i32,
    pub caps: Vec<Cap>,
    /// Unanswered marketing messages in a row before a customer rests; 0: never.
    pub rest_after_unanswered: i32,
    pub rest_days: i32,
    pub rates: Vec<Rate>,
    #[serde(skip)]
    pub update_time: Micros,
    #[serde(skip)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            attribution_window_days: 30,
            caps: vec![
                Cap {
                    channel: Channel::Sms,
                    max_messages: 2,
                    period_days: 7,
                },
                Cap {
                    channel: Channel::Email,
                    max_messages: 3,
                    period_days: 7,
                },
            ],
            rest_after_unanswered: 3,
            rest_days: 30,
            rates: Vec::new(),
            update_time: 0,
            version: 0,
        }
    }
}

impl Settings {
    /// What is wrong with the settings, by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut range = |field: String, value: i32, lo: i32, hi: i32| {
            if !(lo..=hi).contains(&value) {
                out.push((field, format!("must be {lo}..{hi}, got {value}")));
            }
        };
        range(
            "settings.attribution_window_days".into(),
            self.attribution_window_days,
            1,
            365,
        );
        range(
            "settings.rest_after_unanswered".into(),
            self.rest_after_unanswered,
            0,
            100,
        );
        range("settings.rest_days".into(), self.rest_days, 1, 365);
        for (i, c) in self.caps.iter().enumerate() {
            range(
                format!("settings.caps[{i}].max_messages"),
                c.max_messages,
                1,
                1000,
            );
            range(
                format!("settings.caps[{i}].period_days"),
                c.period_days,
                1,
                365,
            );
        }
        for (i, r) in self.rates.iter().enumerate() {
            range(
                format!("settings.rates[{i}].per_second"),
                r.per_second,
                1,
                10_000,
            );
        }
        let mut twice = |field: &str, channels: Vec<Channel>| {
            for (i, c) in channels.iter().enumerate() {
                if channels[..i].contains(c) {
                    out.push((
                        format!("settings.{field}[{i}].channel"),
                        format!("{} is named twice", c.as_str()),
                    ));
                }
            }
        };
        twice("caps", self.caps.iter().map(|c| c.channel).collect());
        twice("rates", self.rates.iter().map(|r| r.channel).collect());
        out
    }

    /// The cap of `channel`, if it has one.
    pub fn cap(&self, channel: Channel) -> Option<Cap> {
        self.caps.iter().copied().find(|c| c.channel == channel)
    }

    /// How many messages per second `channel` sends.
    pub fn rate(&self, channel: Channel) -> i32 {
        self.rates
            .iter()
            .find(|r| r.channel == channel)
            .map_or(DEFAULT_RATE, |r| r.per_second)
    }

    /// The attribution window in microseconds.
    pub fn window_micros(&self) -> Micros {
        i64::from(self.attribution_window_days) * DAY
    }

    /// How long a resting customer rests, in microseconds.
    pub fn rest_micros(&self) -> Micros {
        i64::from(self.rest_days) * DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        let d = Settings::default();
        assert!(d.problems().is_empty());
        assert_eq!(d.cap(Channel::Sms).map(|c| c.max_messages), Some(2));
        assert_eq!(d.cap(Channel::InApp), None);
        assert_eq!(d.rate(Channel::Email), DEFAULT_RATE);
        let s = Settings {
            attribution_window_days: 0,
            caps: vec![
                Cap {
                    channel: Channel::Sms,
                    max_messages: 0,
                    period_days: 7,
                },
                Cap {
                    channel: Channel::Sms,
                    max_messages: 1,
                    period_days: 400,
                },
            ],
            rates: vec![Rate {
                channel: Channel::Email,
                per_second: 0,
            }],
            ..Settings::default()
        };
        let fields: Vec<String> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "settings.attribution_window_days",
                "settings.caps[0].max_messages",
                "settings.caps[1].period_days",
                "settings.rates[0].per_second",
                "settings.caps[1].channel",
            ]
        );
    }
}
