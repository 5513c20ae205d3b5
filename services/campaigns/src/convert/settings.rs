//! The campaign settings as a resource.

use rapport_kit::{mask::Rules, names, validate};
use rapport_proto::campaigns as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use super::enums::{channel, channel_to_proto};
use crate::domain::settings::{Cap, MAX_PER_CHANNEL, Rate, SETTINGS_NAME, Settings};

/// What UpdateCampaignSettings accepts.
pub const SETTINGS_MASK: Rules = Rules {
    updatable: &[
        "attribution_window_days",
        "caps",
        "rest_after_unanswered",
        "rest_days",
        "rates",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("CampaignSettings")
};

/// Reads the fields `fields` names into `into`; ranges and repeats are checked by the settings.
pub fn apply(s: &pb::CampaignSettings, fields: &[&str], into: &mut Settings, v: &mut Violations) {
    for field in fields {
        match *field {
            "attribution_window_days" => into.attribution_window_days = s.attribution_window_days,
            "rest_after_unanswered" => into.rest_after_unanswered = s.rest_after_unanswered,
            "rest_days" => into.rest_days = s.rest_days,
            "caps" => {
                let given = validate::capped(v, "settings.caps", &s.caps, MAX_PER_CHANNEL);
                into.caps = given
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        let channel = validate::required_enum(
                            v,
                            &format!("settings.caps[{i}].channel"),
                            c.channel,
                            channel,
                            "Channel",
                        )?;
                        Some(Cap {
                            channel,
                            max_messages: c.max_messages,
                            period_days: c.period_days,
                        })
                    })
                    .collect();
            }
            "rates" => {
                let given = validate::capped(v, "settings.rates", &s.rates, MAX_PER_CHANNEL);
                into.rates = given
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        let channel = validate::required_enum(
                            v,
                            &format!("settings.rates[{i}].channel"),
                            r.channel,
                            channel,
                            "Channel",
                        )?;
                        Some(Rate {
                            channel,
                            per_second: r.per_second,
                        })
                    })
                    .collect();
            }
            _ => {}
        }
    }
}

/// The answer for `s`.
pub fn settings_to_proto(s: &Settings) -> pb::CampaignSettings {
    pb::CampaignSettings {
        name: SETTINGS_NAME.to_owned(),
        attribution_window_days: s.attribution_window_days,
        caps: s
            .caps
            .iter()
            .map(|c| pb::ChannelCap {
                channel: channel_to_proto(c.channel),
                max_messages: c.max_messages,
                period_days: c.period_days,
            })
            .collect(),
        rest_after_unanswered: s.rest_after_unanswered,
        rest_days: s.rest_days,
        rates: s
            .rates
            .iter()
            .map(|r| pb::ChannelRate {
                channel: channel_to_proto(r.channel),
                per_second: r.per_second,
            })
            .collect(),
        update_time: Some(to_timestamp(s.update_time)),
        etag: names::etag(SETTINGS_NAME, s.version),
    }
}
