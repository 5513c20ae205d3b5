//! UpdateCustomer's mask: what it may name, and copying the named fields from the request.

use prost_types::value::Kind;
use rapport_kit::mask::{self, Nested, Rules, Selected};
use rapport_proto::customers as pb;
use rapport_runtime::validation::Violations;

/// Said of ownership fields named in a mask: a hand-over is recorded, so it has its own method.
const OWNERSHIP: &str =
    "changes only through TransferCustomerOwnership, which keeps the ownership history";

/// What UpdateCustomer's mask accepts.
pub const RULES: Rules = Rules {
    updatable: &[
        "display_name",
        "family_name",
        "given_name",
        "organization_name",
        "phones",
        "emails",
        "im_handles",
        "addresses",
        "demographics",
        "traits",
        "needs",
        "source_channel",
        "referrer",
        "lifecycle_stage",
        "grade",
        "tags",
        "custom_fields",
        "important_dates",
        "consent",
        "shared_team_ids",
    ],
    immutable: &["kind"],
    explained: &[
        ("owner_id", OWNERSHIP),
        ("team_id", OWNERSHIP),
        ("store_id", OWNERSHIP),
    ],
    output_only: &[
        "name",
        "create_time",
        "update_time",
        "delete_time",
        "etag",
        "possible_duplicates",
        "merged_into",
        "value",
    ],
    nested: &[
        Nested {
            parent: "demographics",
            children: &[
                "gender",
                "birth_date",
                "occupation",
                "title",
                "income_band",
                "education",
                "marital_status",
            ],
        },
        Nested {
            parent: "traits",
            children: &["hobbies", "habits", "risk_tolerance"],
        },
        Nested {
            parent: "consent",
            children: &["channels", "do_not_disturb", "quiet_hours"],
        },
    ],
    keyed: &["custom_fields"],
    // Twenty fields would drown the message.
    list_updatable: false,
    ..Rules::new("Customer")
};

/// `current` with the fields named by `paths` copied from `patch`. `"*"` names every updatable
/// field; `custom_fields.<key>` sets one custom field, or removes it when `patch` has no value
/// (or null) for it. Bad paths are reported on `update_mask`. Values are not checked: parse
/// the result with [`super::customer::parse_profile`].
pub fn apply_update_mask(
    current: &pb::Customer,
    patch: &pb::Customer,
    paths: &[String],
    v: &mut Violations,
) -> pb::Customer {
    let mut out = current.clone();
    for selected in mask::select(&RULES, paths, v) {
        match selected {
            Selected::Field(field) => copy_field(&mut out, patch, field),
            Selected::Child { parent, child } => copy_child(&mut out, patch, parent, child),
            Selected::Key { key, .. } => copy_custom_field(&mut out, patch, &key),
        }
    }
    out
}

fn copy_field(out: &mut pb::Customer, patch: &pb::Customer, field: &str) {
    match field {
        "display_name" => out.display_name.clone_from(&patch.display_name),
        "family_name" => out.family_name.clone_from(&patch.family_name),
        "given_name" => out.given_name.clone_from(&patch.given_name),
        "organization_name" => out.organization_name.clone_from(&patch.organization_name),
        "phones" => out.phones.clone_from(&patch.phones),
        "emails" => out.emails.clone_from(&patch.emails),
        "im_handles" => out.im_handles.clone_from(&patch.im_handles),
        "addresses" => out.addresses.clone_from(&patch.addresses),
        "demographics" => out.demographics.clone_from(&patch.demographics),
        "traits" => out.traits.clone_from(&patch.traits),
        "needs" => out.needs.clone_from(&patch.needs),
        "source_channel" => out.source_channel.clone_from(&patch.source_channel),
        "referrer" => out.referrer.clone_from(&patch.referrer),
        "lifecycle_stage" => out.lifecycle_stage = patch.lifecycle_stage,
        "grade" => out.grade.clone_from(&patch.grade),
        "tags" => out.tags.clone_from(&patch.tags),
        "custom_fields" => out.custom_fields.clone_from(&patch.custom_fields),
        "important_dates" => out.important_dates.clone_from(&patch.important_dates),
        "consent" => out.consent.clone_from(&patch.consent),
        "shared_team_ids" => out.shared_team_ids.clone_from(&patch.shared_team_ids),
        _ => unreachable!("{field} is updatable in RULES"),
    }
}

/// Copies `parent.child`, creating the sub-message when `out` has none yet.
fn copy_child(out: &mut pb::Customer, patch: &pb::Customer, parent: &str, child: &str) {
    match parent {
        "demographics" => {
            let from = patch.demographics.clone().unwrap_or_default();
            let to = out.demographics.get_or_insert_with(Default::default);
            match child {
                "gender" => to.gender = from.gender,
                "birth_date" => to.birth_date = from.birth_date,
                "occupation" => to.occupation = from.occupation,
                "title" => to.title = from.title,
                "income_band" => to.income_band = from.income_band,
                "education" => to.education = from.education,
                _ => to.marital_status = from.marital_status,
            }
        }
        "traits" => {
            let from = patch.traits.clone().unwrap_or_default();
            let to = out.traits.get_or_insert_with(Default::default);
            match child {
                "hobbies" => to.hobbies = from.hobbies,
                "habits" => to.habits = from.habits,
                _ => to.risk_tolerance = from.risk_tolerance,
            }
        }
        "consent" => {
            let from = patch.consent.clone().unwrap_or_default();
            let to = out.consent.get_or_insert_with(Default::default);
            match child {
                "channels" => to.channels = from.channels,
                "do_not_disturb" => to.do_not_disturb = from.do_not_disturb,
                _ => to.quiet_hours = from.quiet_hours,
            }
        }
        _ => unreachable!("{parent} is nested in RULES"),
    }
}

/// Sets custom field `key` to `patch`'s value, or removes it when `patch` has none (or null).
fn copy_custom_field(out: &mut pb::Customer, patch: &pb::Customer, key: &str) {
    let value = patch
        .custom_fields
        .as_ref()
        .and_then(|s| s.fields.get(key))
        .filter(|value| !matches!(value.kind, None | Some(Kind::NullValue(_))));
    match value {
        Some(value) => {
            let fields = &mut out
                .custom_fields
                .get_or_insert_with(Default::default)
                .fields;
            fields.insert(key.to_owned(), value.clone());
        }
        None => {
            if let Some(s) = out.custom_fields.as_mut() {
                s.fields.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::fixtures::{fields, full_customer, person, string};

    fn mask(
        current: &pb::Customer,
        patch: &pb::Customer,
        paths: &[&str],
    ) -> (pb::Customer, Vec<String>) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let mut v = Violations::new();
        let out = apply_update_mask(current, patch, &paths, &mut v);
        (
            out,
            v.into_vec()
                .into_iter()
                .map(|f| format!("{}: {}", f.field, f.description))
                .collect(),
        )
    }

    #[test]
    fn update_masks_copy_the_named_fields() {
        let current = full_customer();
        let patch = pb::Customer {
            display_name: "Wei Zhang".into(),
            tags: vec!["new".into()],
            grade: "ignored".into(),
            ..person("")
        };
        let (out, found) = mask(&current, &patch, &["display_name", "tags"]);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(out.display_name, "Wei Zhang");
        assert_eq!(out.tags, ["new"]);
        assert_eq!(out.grade, "A");
        assert_eq!(out.phones, current.phones);
    }

    #[test]
    fn update_masks_reach_into_nested_fields() {
        let current = full_customer();
        let patch = pb::Customer {
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Female.into(),
                ..Default::default()
            }),
            consent: Some(pb::Consent {
                do_not_disturb: false,
                ..Default::default()
            }),
            custom_fields: fields(&[("size", string("L"))]),
            ..pb::Customer::default()
        };
        let (out, found) = mask(
            &current,
            &patch,
            &[
                "demographics.gender",
                "consent.do_not_disturb",
                "custom_fields.size",
                "custom_fields.rooms",
            ],
        );
        assert!(found.is_empty(), "{found:?}");
        let d = out.demographics.as_ref().unwrap();
        assert_eq!(d.gender, pb::Gender::Female as i32);
        assert_eq!(d.occupation, "engineer");
        let consent = out.consent.as_ref().unwrap();
        assert!(!consent.do_not_disturb);
        assert!(consent.quiet_hours.is_some());
        let custom = &out.custom_fields.as_ref().unwrap().fields;
        assert_eq!(custom["size"], string("L"));
        assert!(!custom.contains_key("rooms"));
        // Nested paths work when the current message has no sub-message yet.
        let (out, found) = mask(
            &person("x"),
            &patch,
            &["demographics.gender", "custom_fields.size"],
        );
        assert!(found.is_empty());
        assert_eq!(out.demographics.unwrap().gender, pb::Gender::Female as i32);
        assert_eq!(out.custom_fields.unwrap().fields.len(), 1);
    }

    #[test]
    fn star_replaces_every_updatable_field() {
        let current = full_customer();
        let patch = person("新名字");
        let (out, found) = mask(&current, &patch, &["*"]);
        assert!(found.is_empty());
        assert_eq!(out.display_name, "新名字");
        assert!(out.phones.is_empty() && out.demographics.is_none() && out.tags.is_empty());
        // Kind and ownership are not updatable, so "*" leaves them.
        assert_eq!(out.kind, current.kind);
        assert_eq!(out.owner_id, "rep-1");
        assert_eq!(out.store_id, "store-1");
    }

    #[test]
    fn bad_mask_paths_are_reported() {
        let current = full_customer();
        let (_, found) = mask(&current, &current, &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("update_mask: is required"));
        let (out, found) = mask(
            &current,
            &person("x"),
            &[
                "kind",
                "owner_id",
                "etag",
                "create_time",
                "nickname",
                "demographics.shoe_size",
                "custom_fields.",
            ],
        );
        assert_eq!(out, current);
        assert_eq!(
            found,
            [
                "update_mask: \"kind\" is immutable",
                "update_mask: \"owner_id\" changes only through TransferCustomerOwnership, which \
                 keeps the ownership history",
                "update_mask: \"etag\" is output only",
                "update_mask: \"create_time\" is output only",
                "update_mask: \"nickname\" is not a field of Customer that can be updated",
                "update_mask: \"demographics.shoe_size\" is not a field of Customer that can be updated",
                "update_mask: \"custom_fields.\" is not a field of Customer that can be updated",
            ]
        );
    }
}
