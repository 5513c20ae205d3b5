//! The tenant's settings of the customers service: the duplicate policy, the region used
//! to read phone numbers written without "+", the custom field schema and the thresholds of
//! customer value.

use rapport_kit::duplicates::{Disclosure, DuplicatePolicy};
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};

use super::custom_fields::CustomFieldDef;
use super::value::{ValueRules, ValueRulesPatch};

/// The region used when a tenant never chose one: Rapport's first users are in China.
pub const DEFAULT_REGION: &str = "CN";

/// A tenant's settings. A tenant that never saved any has [`Settings::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// A customer whose phone, email or IM handle a live one has is refused unless the tenant
    /// chose to flag it.
    #[serde(default = "reject")]
    pub duplicate_policy: DuplicatePolicy,
    /// What duplicate checks tell callers of matches they may not see.
    #[serde(default)]
    pub duplicate_disclosure: Disclosure,
    /// ISO 3166-1 alpha-2, upper case.
    pub default_region: String,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldDef>,
    /// How customers' value is scored, graded and grouped (CU12).
    #[serde(default)]
    pub value_rules: ValueRules,
    /// When they were last changed; 0 while never saved.
    #[serde(default)]
    pub update_time: Micros,
    /// Bumped by every change; 0 while never saved.
    #[serde(default)]
    pub version: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            duplicate_policy: DuplicatePolicy::Reject,
            duplicate_disclosure: Disclosure::Masked,
            default_region: DEFAULT_REGION.to_owned(),
            custom_fields: Vec::new(),
            value_rules: ValueRules::default(),
            update_time: 0,
            version: 0,
        }
    }
}

fn reject() -> DuplicatePolicy {
    DuplicatePolicy::Reject
}

impl Settings {
    /// The etag clients send back to detect concurrent edits: 16 hex digits of a SHA-256 of
    /// the version. Etags are only compared within a tenant, so the tenant is not hashed.
    pub fn etag(&self) -> String {
        rapport_kit::names::etag("settings", self.version)
    }
}

/// Checks an ISO 3166-1 alpha-2 region code that phone numbers can be read in.
pub fn check_region(code: &str) -> Result<(), String> {
    if code.is_empty() {
        return Err("is required".into());
    }
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{code:?} is not an ISO 3166-1 alpha-2 code (two upper-case letters, e.g. \"CN\")"
        ));
    }
    // The phone number metadata is what the region is used for, so it decides what is known.
    if phonenumber::metadata::DATABASE.by_id(code).is_none() {
        return Err(format!("{code:?} is not a known region"));
    }
    Ok(())
}

/// A validated change of settings: `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    pub duplicate_policy: Option<DuplicatePolicy>,
    pub duplicate_disclosure: Option<Disclosure>,
    pub default_region: Option<String>,
    pub custom_fields: Option<Vec<CustomFieldDef>>,
    pub value_rules: ValueRulesPatch,
    /// When set, must equal the current settings' etag.
    pub etag: Option<String>,
}

impl SettingsPatch {
    /// Whether the client edited an older version than `current` (answer ABORTED).
    pub fn is_stale(&self, current: &Settings) -> bool {
        self.etag.as_ref().is_some_and(|e| *e != current.etag())
    }

    /// The settings after the change, made at `now`.
    pub fn apply(self, current: &Settings, now: Micros) -> Settings {
        Settings {
            duplicate_policy: self.duplicate_policy.unwrap_or(current.duplicate_policy),
            duplicate_disclosure: self
                .duplicate_disclosure
                .unwrap_or(current.duplicate_disclosure),
            default_region: self
                .default_region
                .unwrap_or_else(|| current.default_region.clone()),
            custom_fields: self
                .custom_fields
                .unwrap_or_else(|| current.custom_fields.clone()),
            value_rules: self.value_rules.apply(&current.value_rules),
            update_time: now,
            version: current.version + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::custom_fields::CustomFieldType;

    fn field(key: &str) -> CustomFieldDef {
        CustomFieldDef {
            key: key.into(),
            display_name: "Floor area".into(),
            field_type: CustomFieldType::Number,
            required: false,
            options: vec![],
        }
    }

    #[test]
    fn defaults_reject_duplicates_in_china() {
        let s = Settings::default();
        assert_eq!(s.duplicate_policy, DuplicatePolicy::Reject);
        assert_eq!(s.default_region, "CN");
        assert!(s.custom_fields.is_empty());
        assert_eq!((s.update_time, s.version), (0, 0));
    }

    #[test]
    fn settings_round_trip_through_serde_and_fill_defaults() {
        let s = Settings {
            duplicate_policy: DuplicatePolicy::Flag,
            duplicate_disclosure: Disclosure::Hidden,
            default_region: "HK".into(),
            custom_fields: vec![field("floor_area")],
            value_rules: ValueRules {
                churn_days: 90,
                ..ValueRules::default()
            },
            update_time: 5,
            version: 2,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), s);
        let minimal: Settings = serde_json::from_str(r#"{"default_region":"CN"}"#).unwrap();
        assert_eq!(minimal, Settings::default());
    }

    #[test]
    fn etags_are_16_hex_digits_and_follow_the_version() {
        let mut s = Settings::default();
        let first = s.etag();
        assert_eq!(first.len(), 16);
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        // Content does not enter the etag; only the version does.
        s.default_region = "US".into();
        assert_eq!(s.etag(), first);
        s.version += 1;
        assert_ne!(s.etag(), first);
    }

    #[test]
    fn regions_must_be_known_alpha_2_codes() {
        for ok in ["CN", "US", "HK", "TW", "GB", "DE"] {
            assert_eq!(check_region(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_region("").unwrap_err(), "is required");
        for shape in ["cn", "CHN", "C", "C1", "中国", "001"] {
            assert!(
                check_region(shape).unwrap_err().contains("alpha-2"),
                "{shape}"
            );
        }
        // Two letters, but not a region the phone metadata knows.
        assert!(
            check_region("ZZ")
                .unwrap_err()
                .contains("not a known region")
        );
        assert!(
            check_region("UK")
                .unwrap_err()
                .contains("not a known region")
        );
    }

    #[test]
    fn patches_change_only_what_they_carry() {
        let current = Settings {
            custom_fields: vec![field("floor_area")],
            version: 3,
            ..Settings::default()
        };
        let patch = SettingsPatch {
            duplicate_policy: Some(DuplicatePolicy::Flag),
            ..SettingsPatch::default()
        };
        let next = patch.apply(&current, 99);
        assert_eq!(next.duplicate_policy, DuplicatePolicy::Flag);
        assert_eq!(next.default_region, "CN");
        assert_eq!(next.custom_fields, current.custom_fields);
        assert_eq!((next.update_time, next.version), (99, 4));

        let clear = SettingsPatch {
            default_region: Some("US".into()),
            custom_fields: Some(vec![]),
            ..SettingsPatch::default()
        };
        let next = clear.apply(&current, 100);
        assert_eq!(next.duplicate_policy, DuplicatePolicy::Reject);
        assert_eq!(next.default_region, "US");
        assert!(next.custom_fields.is_empty());
    }

    #[test]
    fn stale_etags_are_detected() {
        let current = Settings {
            version: 2,
            ..Settings::default()
        };
        let fresh = SettingsPatch {
            etag: Some(current.etag()),
            ..SettingsPatch::default()
        };
        assert!(!fresh.is_stale(&current));
        assert!(!SettingsPatch::default().is_stale(&current));
        let old = SettingsPatch {
            etag: Some(Settings::default().etag()),
            ..SettingsPatch::default()
        };
        assert!(old.is_stale(&current));
    }
}
