//! The order settings as a resource.

use rapport_kit::{mask::Rules, names};
use rapport_proto::orders as pb;
use rapport_runtime::clock::to_timestamp;

use crate::domain::settings::{SETTINGS_NAME, Settings};

/// What UpdateOrderSettings accepts.
pub const SETTINGS_MASK: Rules = Rules {
    updatable: &[
        "discount_approval_percent",
        "follow_up_days",
        "delivery_reminder_hours",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("OrderSettings")
};

/// Reads the fields `fields` names into `into`; ranges are checked by the settings.
pub fn apply(s: &pb::OrderSettings, fields: &[&str], into: &mut Settings) {
    for field in fields {
        match *field {
            "discount_approval_percent" => {
                into.discount_approval_percent = s.discount_approval_percent
            }
            "follow_up_days" => into.follow_up_days = s.follow_up_days,
            "delivery_reminder_hours" => into.delivery_reminder_hours = s.delivery_reminder_hours,
            _ => {}
        }
    }
}

/// The answer for the settings.
pub fn settings_to_proto(s: &Settings) -> pb::OrderSettings {
    pb::OrderSettings {
        name: SETTINGS_NAME.to_owned(),
        discount_approval_percent: s.discount_approval_percent,
        follow_up_days: s.follow_up_days,
        delivery_reminder_hours: s.delivery_reminder_hours,
        update_time: (s.version > 0).then(|| to_timestamp(s.update_time)),
        etag: names::etag(SETTINGS_NAME, s.version),
    }
}
