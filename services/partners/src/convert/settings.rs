//! The partner settings as a resource.

use rapport_kit::{mask::Rules, names, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use crate::domain::{
    commission::Bracket,
    settings::{MAX_BRACKETS, MAX_STEPS, SETTINGS_NAME, Settings, Step},
};

/// What UpdatePartnerSettings accepts.
pub const SETTINGS_MASK: Rules = Rules {
    updatable: &[
        "onboarding_checklist",
        "approval_hours",
        "registration_days",
        "tier_window_days",
        "holding_days",
        "rebate_brackets",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("PartnerSettings")
};

/// Reads the fields `fields` names into `into`; ranges and keys are checked by the settings.
pub fn apply(s: &pb::PartnerSettings, fields: &[&str], into: &mut Settings, v: &mut Violations) {
    for field in fields {
        match *field {
            "onboarding_checklist" => {
                let given = validate::capped(
                    v,
                    "settings.onboarding_checklist",
                    &s.onboarding_checklist,
                    MAX_STEPS,
                );
                into.onboarding_checklist = given
                    .iter()
                    .map(|st| Step {
                        key: st.key.trim().to_owned(),
                        title: st.title.trim().to_owned(),
                    })
                    .collect();
            }
            "approval_hours" => into.approval_hours = s.approval_hours,
            "registration_days" => into.registration_days = s.registration_days,
            "tier_window_days" => into.tier_window_days = s.tier_window_days,
            "holding_days" => into.holding_days = s.holding_days,
            "rebate_brackets" => {
                let given = validate::capped(
                    v,
                    "settings.rebate_brackets",
                    &s.rebate_brackets,
                    MAX_BRACKETS,
                );
                into.rebate_brackets = given
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| {
                        let field = format!("settings.rebate_brackets[{i}].min_sales");
                        let Some(m) = validate::money(v, &field, b.min_sales.as_ref()) else {
                            v.add(field, "is required");
                            return None;
                        };
                        Some(Bracket {
                            currency: m.currency_code,
                            min_sales: m.minor_units,
                            bps: b.bps,
                        })
                    })
                    .collect();
            }
            _ => {}
        }
    }
}

/// The answer for `s`.
pub fn settings_to_proto(s: &Settings) -> pb::PartnerSettings {
    pb::PartnerSettings {
        name: SETTINGS_NAME.to_owned(),
        onboarding_checklist: s
            .onboarding_checklist
            .iter()
            .map(|st| pb::OnboardingStep {
                key: st.key.clone(),
                title: st.title.clone(),
            })
            .collect(),
        approval_hours: s.approval_hours,
        registration_days: s.registration_days,
        tier_window_days: s.tier_window_days,
        holding_days: s.holding_days,
        rebate_brackets: s
            .rebate_brackets
            .iter()
            .map(|b| pb::RebateBracket {
                min_sales: Some(rapport_proto::types::Money {
                    currency_code: b.currency.clone(),
                    minor_units: b.min_sales,
                }),
                bps: b.bps,
            })
            .collect(),
        update_time: Some(to_timestamp(s.update_time)),
        etag: names::etag(SETTINGS_NAME, s.version),
    }
}
