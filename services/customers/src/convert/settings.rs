//! Customer settings: proto <-> domain, and the update mask.

use rapport_kit::duplicates::{Disclosure, DuplicatePolicy};
use rapport_kit::mask::{self, Nested, Selected};
use rapport_proto::customers as pb;
use rapport_runtime::clock::to_timestamp;
use rapport_runtime::validation::{FieldViolation, Violations};

use super::value::{RULE_FIELDS, parse_rules, rules_to_proto};
use crate::domain::custom_fields::{
    CustomFieldDef, CustomFieldDefInput, CustomFieldType, parse_definitions,
};
use crate::domain::names;
use crate::domain::settings::{self, Settings, SettingsPatch};

/// The domain disclosure of a proto enum value: UNSPECIFIED is MASKED (as documented); `None`
/// for unknown values.
pub fn disclosure_from_proto(value: i32) -> Option<Disclosure> {
    match rapport_proto::types::DuplicateDisclosure::try_from(value).ok()? {
        rapport_proto::types::DuplicateDisclosure::Unspecified
        | rapport_proto::types::DuplicateDisclosure::Masked => Some(Disclosure::Masked),
        rapport_proto::types::DuplicateDisclosure::Hidden => Some(Disclosure::Hidden),
    }
}

/// The proto enum of a domain disclosure.
pub fn disclosure_to_proto(d: Disclosure) -> rapport_proto::types::DuplicateDisclosure {
    match d {
        Disclosure::Masked => rapport_proto::types::DuplicateDisclosure::Masked,
        Disclosure::Hidden => rapport_proto::types::DuplicateDisclosure::Hidden,
    }
}

/// The domain policy of a proto enum value: UNSPECIFIED is REJECT (as documented); `None` for
/// unknown values.
pub fn duplicate_policy_from_proto(value: i32) -> Option<DuplicatePolicy> {
    match pb::DuplicatePolicy::try_from(value).ok()? {
        pb::DuplicatePolicy::Unspecified | pb::DuplicatePolicy::Reject => {
            Some(DuplicatePolicy::Reject)
        }
        pb::DuplicatePolicy::Flag => Some(DuplicatePolicy::Flag),
    }
}

/// The proto enum of a domain policy.
pub fn duplicate_policy_to_proto(policy: DuplicatePolicy) -> pb::DuplicatePolicy {
    match policy {
        DuplicatePolicy::Reject => pb::DuplicatePolicy::Reject,
        DuplicatePolicy::Flag => pb::DuplicatePolicy::Flag,
    }
}

/// The domain type of a proto enum value; `None` for UNSPECIFIED and unknown values.
pub fn custom_field_type_from_proto(value: i32) -> Option<CustomFieldType> {
    use pb::CustomFieldType as P;
    Some(match P::try_from(value).ok()? {
        P::Unspecified => return None,
        P::String => CustomFieldType::String,
        P::Number => CustomFieldType::Number,
        P::Integer => CustomFieldType::Integer,
        P::Boolean => CustomFieldType::Boolean,
        P::Date => CustomFieldType::Date,
        P::Enum => CustomFieldType::Enum,
    })
}

/// The proto enum of a domain type.
pub fn custom_field_type_to_proto(t: CustomFieldType) -> pb::CustomFieldType {
    use pb::CustomFieldType as P;
    match t {
        CustomFieldType::String => P::String,
        CustomFieldType::Number => P::Number,
        CustomFieldType::Integer => P::Integer,
        CustomFieldType::Boolean => P::Boolean,
        CustomFieldType::Date => P::Date,
        CustomFieldType::Enum => P::Enum,
    }
}

/// The proto of a definition.
pub fn custom_field_def_to_proto(def: &CustomFieldDef) -> pb::CustomFieldDefinition {
    pb::CustomFieldDefinition {
        key: def.key.clone(),
        display_name: def.display_name.clone(),
        r#type: custom_field_type_to_proto(def.field_type).into(),
        required: def.required,
        options: def.options.clone(),
    }
}

/// A definition as the client wrote it, for [`parse_definitions`] to check.
pub fn custom_field_input_from_proto(def: &pb::CustomFieldDefinition) -> CustomFieldDefInput {
    CustomFieldDefInput {
        key: def.key.clone(),
        display_name: def.display_name.clone(),
        field_type: custom_field_type_from_proto(def.r#type),
        required: def.required,
        options: def.options.clone(),
    }
}

/// The proto of a tenant's settings.
pub fn settings_to_proto(s: &Settings) -> pb::CustomerSettings {
    pb::CustomerSettings {
        name: names::SETTINGS_NAME.to_owned(),
        duplicate_policy: duplicate_policy_to_proto(s.duplicate_policy).into(),
        duplicate_disclosure: disclosure_to_proto(s.duplicate_disclosure).into(),
        default_region: s.default_region.clone(),
        custom_fields: s
            .custom_fields
            .iter()
            .map(custom_field_def_to_proto)
            .collect(),
        value_rules: Some(rules_to_proto(&s.value_rules)),
        // Settings never saved have no change time to tell.
        update_time: (s.update_time != 0).then(|| to_timestamp(s.update_time)),
        etag: s.etag(),
    }
}

/// Parses a GetCustomerSettings request.
pub fn parse_get_settings(req: &pb::GetCustomerSettingsRequest) -> Result<(), Vec<FieldViolation>> {
    names::parse_settings_name(&req.name).map_err(|e| {
        vec![FieldViolation {
            field: "name".into(),
            description: e,
        }]
    })
}

/// What UpdateCustomerSettings may change.
const MASK: mask::Rules = mask::Rules {
    updatable: &[
        "duplicate_policy",
        "duplicate_disclosure",
        "default_region",
        "custom_fields",
        "value_rules",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    nested: &[Nested {
        parent: "value_rules",
        children: RULE_FIELDS,
    }],
    ..mask::Rules::new("CustomerSettings")
};

/// Parses an UpdateCustomerSettings request into the change it asks for. Only fields named in
/// the mask are read (`*` names them all); output-only fields are ignored.
pub fn parse_update_settings(
    req: &pb::UpdateCustomerSettingsRequest,
) -> Result<SettingsPatch, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let selected = mask::select(&MASK, &mask::paths(req.update_mask.clone()), &mut v);
    let masked = mask::fields(&MASK, &selected);
    let has = |field: &str| masked.contains(&field);
    let rule_fields = value_rule_fields(&selected);
    let (policy, disclosure, region, fields) = (
        has("duplicate_policy"),
        has("duplicate_disclosure"),
        has("default_region"),
        has("custom_fields"),
    );
    let Some(s) = &req.settings else {
        v.add("settings", "is required");
        return Err(v.into_vec());
    };
    let mut patch = SettingsPatch {
        etag: (!s.etag.is_empty()).then(|| s.etag.clone()),
        ..SettingsPatch::default()
    };
    v.nested("settings", |v| {
        if policy {
            patch.duplicate_policy = duplicate_policy_from_proto(s.duplicate_policy);
            if patch.duplicate_policy.is_none() {
                v.add(
                    "duplicate_policy",
                    format!("{} is not a DuplicatePolicy", s.duplicate_policy),
                );
            }
        }
        if disclosure {
            patch.duplicate_disclosure = disclosure_from_proto(s.duplicate_disclosure);
            if patch.duplicate_disclosure.is_none() {
                v.add(
                    "duplicate_disclosure",
                    format!("{} is not a DuplicateDisclosure", s.duplicate_disclosure),
                );
            }
        }
        if region {
            match settings::check_region(&s.default_region) {
                Ok(()) => patch.default_region = Some(s.default_region.clone()),
                Err(e) => v.add("default_region", e),
            }
        }
        if fields {
            let inputs: Vec<_> = s
                .custom_fields
                .iter()
                .map(custom_field_input_from_proto)
                .collect();
            patch.custom_fields = Some(parse_definitions(
                &inputs,
                crate::domain::custom_fields::LIST,
                v,
            ));
        }
        if !rule_fields.is_empty() {
            patch.value_rules = v.nested("value_rules", |v| {
                parse_rules(s.value_rules.as_ref(), &rule_fields, v)
            });
        }
    });
    v.finish(patch)
}

/// The fields of the value rules `selected` names: all of them for `value_rules` (or `*`),
/// else those named one by one, in field order.
fn value_rule_fields(selected: &[Selected]) -> Vec<&'static str> {
    let whole = selected.contains(&Selected::Field("value_rules"));
    RULE_FIELDS
        .iter()
        .copied()
        .filter(|&child| {
            whole
                || selected.contains(&Selected::Child {
                    parent: "value_rules",
                    child,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::value::{ValueRules, ValueRulesPatch};
    use prost_types::FieldMask;

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    fn def(key: &str, t: pb::CustomFieldType, options: &[&str]) -> pb::CustomFieldDefinition {
        pb::CustomFieldDefinition {
            key: key.into(),
            display_name: key.into(),
            r#type: t.into(),
            required: false,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn update(settings: pb::CustomerSettings, paths: &[&str]) -> pb::UpdateCustomerSettingsRequest {
        pb::UpdateCustomerSettingsRequest {
            settings: Some(settings),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        }
    }

    fn full() -> pb::CustomerSettings {
        pb::CustomerSettings {
            name: "ignored".into(),
            duplicate_policy: pb::DuplicatePolicy::Flag.into(),
            duplicate_disclosure: rapport_proto::types::DuplicateDisclosure::Hidden.into(),
            default_region: "HK".into(),
            custom_fields: vec![
                def("floor_area", pb::CustomFieldType::Number, &[]),
                def("style", pb::CustomFieldType::Enum, &["modern", "classic"]),
            ],
            value_rules: Some(pb::ValueRules {
                churn_days: 180,
                ..Default::default()
            }),
            update_time: Some(prost_types::Timestamp {
                seconds: -1,
                nanos: -1,
            }),
            etag: String::new(),
        }
    }

    #[test]
    fn enums_map_both_ways() {
        for p in [DuplicatePolicy::Reject, DuplicatePolicy::Flag] {
            assert_eq!(
                duplicate_policy_from_proto(duplicate_policy_to_proto(p).into()),
                Some(p)
            );
        }
        assert_eq!(
            duplicate_policy_from_proto(0),
            Some(DuplicatePolicy::Reject)
        );
        assert_eq!(duplicate_policy_from_proto(3), None);
        for t in [
            CustomFieldType::String,
            CustomFieldType::Number,
            CustomFieldType::Integer,
            CustomFieldType::Boolean,
            CustomFieldType::Date,
            CustomFieldType::Enum,
        ] {
            assert_eq!(
                custom_field_type_from_proto(custom_field_type_to_proto(t).into()),
                Some(t)
            );
        }
        assert_eq!(custom_field_type_from_proto(0), None);
        assert_eq!(custom_field_type_from_proto(7), None);
    }

    #[test]
    fn settings_become_protos() {
        let p = settings_to_proto(&Settings::default());
        assert_eq!(p.name, "settings");
        assert_eq!(p.duplicate_policy, i32::from(pb::DuplicatePolicy::Reject));
        assert_eq!(p.default_region, "CN");
        assert_eq!(p.update_time, None);
        assert_eq!(p.etag, Settings::default().etag());

        let s = Settings {
            update_time: 2_000_000,
            ..Settings::default()
        };
        assert_eq!(
            settings_to_proto(&s).update_time,
            Some(to_timestamp(2_000_000))
        );
    }

    #[test]
    fn star_reads_every_field_and_round_trips() {
        let patch = parse_update_settings(&update(full(), &["*"])).unwrap();
        assert_eq!(patch.duplicate_policy, Some(DuplicatePolicy::Flag));
        assert_eq!(patch.default_region.as_deref(), Some("HK"));
        assert_eq!(patch.etag, None);
        let next = patch.apply(&Settings::default(), 1);
        let back = settings_to_proto(&next);
        assert_eq!(back.custom_fields, full().custom_fields);
        assert_eq!(back.duplicate_policy, full().duplicate_policy);
    }

    #[test]
    fn only_masked_fields_are_read() {
        let mut s = full();
        s.default_region = "nowhere".into();
        s.custom_fields = vec![def("Bad Key", pb::CustomFieldType::Unspecified, &[])];
        s.etag = "abc".into();
        let patch = parse_update_settings(&update(s, &["duplicate_policy"])).unwrap();
        assert_eq!(
            patch,
            SettingsPatch {
                duplicate_policy: Some(DuplicatePolicy::Flag),
                duplicate_disclosure: None,
                default_region: None,
                custom_fields: None,
                value_rules: ValueRulesPatch::default(),
                etag: Some("abc".into()),
            }
        );
    }

    #[test]
    fn value_rules_update_as_a_whole_or_one_by_one() {
        let whole = parse_update_settings(&update(full(), &["value_rules"])).unwrap();
        assert_eq!(
            whole.value_rules.apply(&ValueRules::default()),
            ValueRules {
                churn_days: 180,
                ..ValueRules::default()
            }
        );
        assert_eq!(whole.duplicate_policy, None);

        let mut s = full();
        s.value_rules = Some(pb::ValueRules {
            churn_days: 90,
            vip_min_score: 99,
            ..Default::default()
        });
        let one = parse_update_settings(&update(s, &["value_rules.churn_days"])).unwrap();
        assert_eq!(
            one.value_rules,
            ValueRulesPatch {
                churn_days: Some(90),
                ..ValueRulesPatch::default()
            }
        );

        let mut s = full();
        s.value_rules = Some(pb::ValueRules {
            vip_min_score: 0,
            churn_days: -1,
            recency_days: vec![1],
            ..Default::default()
        });
        let err = parse_update_settings(&update(
            s,
            &[
                "value_rules.churn_days",
                "value_rules.recency_days",
                "value_rules.vip_min_score",
                "value_rules.nothing",
            ],
        ))
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "update_mask",
                "settings.value_rules.recency_days",
                "settings.value_rules.churn_days"
            ]
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let s = pb::CustomerSettings {
            duplicate_policy: 9,
            default_region: "cn".into(),
            custom_fields: vec![
                def("ok", pb::CustomFieldType::String, &[]),
                def("dup", pb::CustomFieldType::String, &[]),
                def("style", pb::CustomFieldType::Enum, &["a", ""]),
            ],
            ..Default::default()
        };
        let err = parse_update_settings(&update(s, &["*", "name"])).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "update_mask",
                "settings.duplicate_policy",
                "settings.default_region",
                "settings.custom_fields[2].options[1]"
            ]
        );
    }

    #[test]
    fn custom_field_violations_carry_their_index() {
        let s = pb::CustomerSettings {
            custom_fields: vec![
                def("a", pb::CustomFieldType::String, &[]),
                def("a", pb::CustomFieldType::Unspecified, &[]),
                def("style", pb::CustomFieldType::Enum, &[]),
            ],
            ..Default::default()
        };
        let err = parse_update_settings(&update(s, &["custom_fields"])).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "settings.custom_fields[1].key",
                "settings.custom_fields[1].type",
                "settings.custom_fields[2].options"
            ]
        );
    }

    #[test]
    fn mask_and_settings_are_required() {
        let req = pb::UpdateCustomerSettingsRequest {
            settings: None,
            update_mask: None,
        };
        assert_eq!(
            fields(&parse_update_settings(&req).unwrap_err()),
            ["update_mask", "settings"]
        );
        let err = parse_update_settings(&update(full(), &[])).unwrap_err();
        assert_eq!(fields(&err), ["update_mask"]);
    }

    #[test]
    fn get_needs_the_singleton_name() {
        let ok = pb::GetCustomerSettingsRequest {
            name: "settings".into(),
        };
        assert!(parse_get_settings(&ok).is_ok());
        let bad = pb::GetCustomerSettingsRequest {
            name: "settings/x".into(),
        };
        assert_eq!(fields(&parse_get_settings(&bad).unwrap_err()), ["name"]);
    }
}
