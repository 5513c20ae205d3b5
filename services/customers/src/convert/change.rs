//! BatchUpdateCustomers' change: proto -> domain.

use rapport_proto::customers as pb;
use rapport_runtime::validation::Violations;

use super::{enums::lifecycle_stage_from_proto, json::struct_to_json};
use crate::domain::{change::Change, custom_fields, profile, settings::Settings, transfer};

/// Reads a change, reporting every bad field relative to `v`'s prefix; a change that sets
/// nothing is reported too.
pub fn parse_change(c: &pb::CustomerChange, settings: &Settings, v: &mut Violations) -> Change {
    let mut out = Change::default();
    let id = |v: &mut Violations, field: &str, value: &str| -> Option<String> {
        if value.is_empty() {
            return None;
        }
        transfer::check_id(value)
            .map_err(|e| v.add(field, e))
            .ok()?;
        Some(value.to_owned())
    };
    out.owner_id = id(v, "owner_id", &c.owner_id);
    out.team_id = id(v, "team_id", &c.team_id);
    out.store_id = id(v, "store_id", &c.store_id);
    out.lifecycle_stage = lifecycle_stage_from_proto(c.lifecycle_stage).unwrap_or_else(|_| {
        v.add(
            "lifecycle_stage",
            format!("{} is not a LifecycleStage", c.lifecycle_stage),
        );
        None
    });
    if !c.grade.is_empty() {
        if c.grade.chars().count() > profile::MAX_GRADE {
            v.add(
                "grade",
                format!("is longer than {} characters", profile::MAX_GRADE),
            );
        } else {
            out.grade = Some(c.grade.trim().to_owned());
        }
    }
    for (field, list, into) in [
        ("add_tags", &c.add_tags, &mut out.add_tags),
        ("remove_tags", &c.remove_tags, &mut out.remove_tags),
    ] {
        for (i, raw) in list.iter().enumerate() {
            match profile::normalize_tag(raw) {
                Ok(t) => into.push(t),
                Err(e) => v.add(format!("{field}[{i}]"), e),
            }
        }
    }
    if let Some(fields) = &c.custom_fields {
        let values = v.nested("custom_fields", |v| struct_to_json(fields, v));
        for (key, value) in values {
            let path = format!("custom_fields.{key}");
            match settings.custom_fields.iter().find(|d| d.key == key) {
                None => v.add(path, "is not a custom field of this tenant"),
                Some(_) if value.is_null() => {
                    out.custom_fields.insert(key, value);
                }
                Some(def) => match custom_fields::check_value(def, &value) {
                    Ok(value) => {
                        out.custom_fields.insert(key, value);
                    }
                    Err(e) => v.add(path, e),
                },
            }
        }
    }
    if out.is_empty() && v.is_empty() {
        v.add("", "changes nothing: set at least one field");
    }
    out
}
