//! The tenant's order settings.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use rapport_kit::fields::CustomFieldDef;

use super::charges::{self, ChargeRule};

/// The settings' resource name.
pub const SETTINGS_NAME: &str = "orderSettings";

/// What a tenant decides about its orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// A discount above this percentage of the subtotal needs a manager's approval.
    pub discount_approval_percent: i32,
    /// The follow-up visit is due this many days after the last delivery.
    pub follow_up_days: i32,
    /// A delivery's reminder fires this many hours before its window.
    pub delivery_reminder_hours: i32,
    /// Taxes and fees on orders.
    pub charge_rules: Vec<ChargeRule>,
    /// The typed product attributes.
    pub attribute_definitions: Vec<CustomFieldDef>,
    #[serde(skip)]
    pub update_time: Micros,
    #[serde(skip)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            discount_approval_percent: 10,
            follow_up_days: 7,
            delivery_reminder_hours: 24,
            charge_rules: Vec::new(),
            attribute_definitions: Vec::new(),
            update_time: 0,
            version: 0,
        }
    }
}

impl Settings {
    /// What is wrong with the settings, by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = charges::problems(&self.charge_rules);
        if !(0..=100).contains(&self.discount_approval_percent) {
            out.push((
                "settings.discount_approval_percent".to_owned(),
                format!("must be 0..100, got {}", self.discount_approval_percent),
            ));
        }
        if !(1..=365).contains(&self.follow_up_days) {
            out.push((
                "settings.follow_up_days".to_owned(),
                format!("must be 1..365, got {}", self.follow_up_days),
            ));
        }
        if !(1..=720).contains(&self.delivery_reminder_hours) {
            out.push((
                "settings.delivery_reminder_hours".to_owned(),
                format!("must be 1..720, got {}", self.delivery_reminder_hours),
            ));
        }
        out
    }
}
