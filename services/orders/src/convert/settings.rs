//! The order settings as a resource, with its charge rules.

use rapport_kit::{
    fields::{CustomFieldDef, CustomFieldDefInput, CustomFieldType, parse_definitions},
    mask::Rules,
    names, validate,
};
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use crate::domain::{
    catalog::{CATEGORIES, is_attribute_key},
    charges::{ChargeKind, ChargeRule, FirstPurchase, format_area, parse_area},
    settings::{SETTINGS_NAME, Settings},
};

/// What UpdateOrderSettings accepts.
pub const SETTINGS_MASK: Rules = Rules {
    updatable: &[
        "discount_approval_percent",
        "follow_up_days",
        "delivery_reminder_hours",
        "charge_rules",
        "attribute_definitions",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("OrderSettings")
};

/// Reads the fields `fields` names into `into`, reporting what does not read; ranges and the
/// rules' consistency are checked by the settings.
pub fn apply(s: &pb::OrderSettings, fields: &[&str], into: &mut Settings, v: &mut Violations) {
    for field in fields {
        match *field {
            "discount_approval_percent" => {
                into.discount_approval_percent = s.discount_approval_percent
            }
            "follow_up_days" => into.follow_up_days = s.follow_up_days,
            "delivery_reminder_hours" => into.delivery_reminder_hours = s.delivery_reminder_hours,
            "charge_rules" => {
                let given = validate::capped(v, "settings.charge_rules", &s.charge_rules, 50);
                into.charge_rules = given
                    .iter()
                    .enumerate()
                    .map(|(i, r)| parse_rule(r, &format!("settings.charge_rules[{i}]"), v))
                    .collect();
            }
            "attribute_definitions" => {
                let inputs: Vec<CustomFieldDefInput> = s
                    .attribute_definitions
                    .iter()
                    .map(definition_input)
                    .collect();
                into.attribute_definitions =
                    parse_definitions(&inputs, "settings.attribute_definitions", v);
            }
            _ => {}
        }
    }
}

const TYPES: [(pb::AttributeType, CustomFieldType); 6] = [
    (pb::AttributeType::String, CustomFieldType::String),
    (pb::AttributeType::Number, CustomFieldType::Number),
    (pb::AttributeType::Integer, CustomFieldType::Integer),
    (pb::AttributeType::Boolean, CustomFieldType::Boolean),
    (pb::AttributeType::Date, CustomFieldType::Date),
    (pb::AttributeType::Enum, CustomFieldType::Enum),
];

fn definition_input(d: &pb::AttributeDefinition) -> CustomFieldDefInput {
    CustomFieldDefInput {
        key: d.key.trim().to_owned(),
        display_name: d.display_name.clone(),
        field_type: TYPES
            .iter()
            .find(|(p, _)| *p as i32 == d.r#type)
            .map(|(_, t)| *t),
        required: d.required,
        options: d.options.clone(),
    }
}

fn definition_to_proto(d: &CustomFieldDef) -> pb::AttributeDefinition {
    pb::AttributeDefinition {
        key: d.key.clone(),
        display_name: d.display_name.clone(),
        r#type: TYPES
            .iter()
            .find(|(_, t)| *t == d.field_type)
            .map_or(0, |(p, _)| *p as i32),
        required: d.required,
        options: d.options.clone(),
    }
}

fn parse_rule(r: &pb::ChargeRule, at: &str, v: &mut Violations) -> ChargeRule {
    let field = |f: &str| format!("{at}.{f}");
    let key = r.key.trim().to_owned();
    if !is_attribute_key(&key) {
        v.add(
            field("key"),
            "is required: 1..64 of a-z, 0-9 and _, from a letter",
        );
    }
    let kind = match pb::ChargeKind::try_from(r.kind) {
        Ok(pb::ChargeKind::Unspecified | pb::ChargeKind::Tax) => ChargeKind::Tax,
        Ok(pb::ChargeKind::Fee) => ChargeKind::Fee,
        Err(_) => {
            v.add(field("kind"), format!("{} is not a ChargeKind", r.kind));
            ChargeKind::Tax
        }
    };
    let first_purchase = match pb::FirstPurchase::try_from(r.first_purchase) {
        Ok(pb::FirstPurchase::Unspecified | pb::FirstPurchase::Any) => FirstPurchase::Any,
        Ok(pb::FirstPurchase::Only) => FirstPurchase::Only,
        Ok(pb::FirstPurchase::Repeat) => FirstPurchase::Repeat,
        Err(_) => {
            v.add(
                field("first_purchase"),
                format!("{} is not a FirstPurchase", r.first_purchase),
            );
            FirstPurchase::Any
        }
    };
    let fixed = validate::money(v, &field("fixed_amount"), r.fixed_amount.as_ref());
    let category = if r.category.trim().is_empty() {
        None
    } else {
        names::parse_id(CATEGORIES, r.category.trim())
            .map_err(|e| v.add(field("category"), e))
            .ok()
    };
    let area = |text: &str, name: &str, v: &mut Violations| {
        (!text.trim().is_empty())
            .then(|| parse_area(text).map_err(|e| v.add(field(name), e)).ok())
            .flatten()
    };
    ChargeRule {
        key,
        display_name: validate::required_text(v, &field("display_name"), &r.display_name, 100),
        kind,
        rate_basis_points: i64::from(r.rate_basis_points),
        fixed_amount: fixed.as_ref().map_or(0, |m| m.minor_units),
        fixed_currency: fixed.map(|m| m.currency_code).unwrap_or_default(),
        category,
        min_area_milli: area(&r.min_area_m2, "min_area_m2", v),
        max_area_milli: area(&r.max_area_m2, "max_area_m2", v),
        first_purchase,
    }
}

fn rule_to_proto(r: &ChargeRule) -> pb::ChargeRule {
    pb::ChargeRule {
        key: r.key.clone(),
        display_name: r.display_name.clone(),
        kind: charge_kind_to_proto(r.kind).into(),
        rate_basis_points: i32::try_from(r.rate_basis_points).unwrap_or(i32::MAX),
        fixed_amount: (!r.fixed_currency.is_empty()).then(|| pt::Money {
            currency_code: r.fixed_currency.clone(),
            minor_units: r.fixed_amount,
        }),
        category: r
            .category
            .map(|c| names::format_id(CATEGORIES, c))
            .unwrap_or_default(),
        min_area_m2: r.min_area_milli.map(format_area).unwrap_or_default(),
        max_area_m2: r.max_area_milli.map(format_area).unwrap_or_default(),
        first_purchase: match r.first_purchase {
            FirstPurchase::Any => pb::FirstPurchase::Any,
            FirstPurchase::Only => pb::FirstPurchase::Only,
            FirstPurchase::Repeat => pb::FirstPurchase::Repeat,
        }
        .into(),
    }
}

/// The answer for the settings.
pub fn settings_to_proto(s: &Settings) -> pb::OrderSettings {
    pb::OrderSettings {
        name: SETTINGS_NAME.to_owned(),
        discount_approval_percent: s.discount_approval_percent,
        follow_up_days: s.follow_up_days,
        delivery_reminder_hours: s.delivery_reminder_hours,
        charge_rules: s.charge_rules.iter().map(rule_to_proto).collect(),
        attribute_definitions: s
            .attribute_definitions
            .iter()
            .map(definition_to_proto)
            .collect(),
        update_time: (s.version > 0).then(|| to_timestamp(s.update_time)),
        etag: names::etag(SETTINGS_NAME, s.version),
    }
}

/// The kind of a charge, as the API writes it.
pub fn charge_kind_to_proto(kind: ChargeKind) -> pb::ChargeKind {
    match kind {
        ChargeKind::Tax => pb::ChargeKind::Tax,
        ChargeKind::Fee => pb::ChargeKind::Fee,
    }
}
