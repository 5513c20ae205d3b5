//! The tenant's partner settings.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::commission::Bracket;

/// The settings' resource name.
pub const SETTINGS_NAME: &str = "partnerSettings";

/// Most steps of the onboarding checklist.
pub const MAX_STEPS: usize = 30;

/// Most volume-rebate brackets.
pub const MAX_BRACKETS: usize = 20;

/// One step of the onboarding checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub key: String,
    pub title: String,
}

/// What a tenant decides about its partners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Copied onto a partner when its onboarding starts.
    pub onboarding_checklist: Vec<Step>,
    /// A registration should be decided within this many hours.
    pub approval_hours: i32,
    /// An approved registration holds this many days.
    pub registration_days: i32,
    /// Tier criteria look back this many days.
    pub tier_window_days: i32,
    /// Commission lines become payable this many days after their order completed.
    pub holding_days: i32,
    /// Volume rebates on a month's statement.
    pub rebate_brackets: Vec<Bracket>,
    #[serde(skip)]
    pub update_time: Micros,
    #[serde(skip)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            onboarding_checklist: vec![
                Step {
                    key: "contract".into(),
                    title: "Partner contract signed".into(),
                },
                Step {
                    key: "training".into(),
                    title: "Product training done".into(),
                },
            ],
            approval_hours: 48,
            registration_days: 90,
            tier_window_days: 90,
            holding_days: 30,
            rebate_brackets: Vec::new(),
            update_time: 0,
            version: 0,
        }
    }
}

/// Whether `key` may name a step: 1..64 of a-z, 0-9, '_' and '-'.
pub fn is_step_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Settings {
    /// What is wrong with the settings, by field.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut range = |field: &str, value: i32, lo: i32, hi: i32| {
            if !(lo..=hi).contains(&value) {
                out.push((
                    format!("settings.{field}"),
                    format!("must be {lo}..{hi}, got {value}"),
                ));
            }
        };
        range("approval_hours", self.approval_hours, 1, 720);
        range("registration_days", self.registration_days, 1, 730);
        range("tier_window_days", self.tier_window_days, 7, 730);
        range("holding_days", self.holding_days, 0, 365);
        if self.rebate_brackets.len() > MAX_BRACKETS {
            out.push((
                "settings.rebate_brackets".into(),
                format!("has more than {MAX_BRACKETS} brackets"),
            ));
        }
        for (i, b) in self.rebate_brackets.iter().enumerate() {
            let field = format!("settings.rebate_brackets[{i}]");
            if b.min_sales <= 0 {
                out.push((
                    format!("{field}.min_sales"),
                    "must be more than zero".into(),
                ));
            }
            if !(1..=10_000).contains(&b.bps) {
                out.push((
                    format!("{field}.bps"),
                    format!("must be 1..10000, got {}", b.bps),
                ));
            }
        }
        if self.onboarding_checklist.len() > MAX_STEPS {
            out.push((
                "settings.onboarding_checklist".into(),
                format!("has more than {MAX_STEPS} steps"),
            ));
        }
        for (i, s) in self.onboarding_checklist.iter().enumerate() {
            let field = format!("settings.onboarding_checklist[{i}]");
            if !is_step_key(&s.key) {
                out.push((
                    format!("{field}.key"),
                    "must be 1..64 characters of a-z, 0-9, '_' and '-'".into(),
                ));
            } else if self.onboarding_checklist[..i]
                .iter()
                .any(|o| o.key == s.key)
            {
                out.push((format!("{field}.key"), format!("{:?} is used twice", s.key)));
            }
            let title = s.title.trim().chars().count();
            if !(1..=200).contains(&title) {
                out.push((format!("{field}.title"), "must be 1..200 characters".into()));
            }
        }
        out
    }

    /// How long a registration may wait for a decision, in microseconds.
    pub fn approval_micros(&self) -> Micros {
        i64::from(self.approval_hours) * 3_600_000_000
    }

    /// How long an approved registration holds, in microseconds.
    pub fn registration_micros(&self) -> Micros {
        i64::from(self.registration_days) * 86_400_000_000
    }

    /// How long a completed order's commission is held, in microseconds.
    pub fn holding_micros(&self) -> Micros {
        i64::from(self.holding_days) * 86_400_000_000
    }

    /// How far tier criteria look back, in microseconds.
    pub fn window_micros(&self) -> Micros {
        i64::from(self.tier_window_days) * 86_400_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        assert!(Settings::default().problems().is_empty());
        let s = Settings {
            approval_hours: 0,
            tier_window_days: 1000,
            onboarding_checklist: vec![
                Step {
                    key: "a".into(),
                    title: "A".into(),
                },
                Step {
                    key: "a".into(),
                    title: "".into(),
                },
                Step {
                    key: "Bad Key".into(),
                    title: "B".into(),
                },
            ],
            ..Settings::default()
        };
        let fields: Vec<String> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "settings.approval_hours",
                "settings.tier_window_days",
                "settings.onboarding_checklist[1].key",
                "settings.onboarding_checklist[1].title",
                "settings.onboarding_checklist[2].key",
            ]
        );
    }
}
