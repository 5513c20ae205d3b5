//! Update masks (AIP-134): which fields an Update changes. A resource states its [`Rules`];
//! [`select`] reads a request's paths against them, reporting every path it refuses on
//! `update_mask`, and says what to copy from the request's resource. The copying itself is the
//! resource's: it knows its message.

use rapport_runtime::validation::Violations;

/// The request field the paths come from, where violations are reported.
const FIELD: &str = "update_mask";

/// What a resource's Update accepts in its mask. Build one with struct update syntax over
/// [`Rules::new`], e.g. `Rules { updatable: &["display_name"], ..Rules::new("Store") }`.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The resource, in messages.
    pub resource: &'static str,
    /// Top-level fields the Update may change, in the resource's field order; `*` names them
    /// all.
    pub updatable: &'static [&'static str],
    /// Fields set once, on create.
    pub immutable: &'static [&'static str],
    /// Fields the Update does not change but another method does, each with what is said of
    /// it instead of "is immutable" (e.g. which method changes it).
    pub explained: &'static [(&'static str, &'static str)],
    /// Fields only the server sets.
    pub output_only: &'static [&'static str],
    /// Sub-messages whose fields may also be named one by one (`demographics.gender`).
    pub nested: &'static [Nested],
    /// Map fields whose entries may be named by key (`custom_fields.<key>`).
    pub keyed: &'static [&'static str],
    /// Whether refusing an unknown path lists the updatable fields (worth it when they are
    /// few).
    pub list_updatable: bool,
}

impl Rules {
    /// Rules that accept nothing, to fill in.
    pub const fn new(resource: &'static str) -> Self {
        Self {
            resource,
            updatable: &[],
            immutable: &[],
            explained: &[],
            output_only: &[],
            nested: &[],
            keyed: &[],
            list_updatable: true,
        }
    }
}

/// A sub-message whose fields a mask may name one by one.
#[derive(Debug, Clone, Copy)]
pub struct Nested {
    /// The sub-message's field in the resource; itself updatable as a whole.
    pub parent: &'static str,
    /// Its fields a path may name after the parent and a dot.
    pub children: &'static [&'static str],
}

/// What one accepted path selects, for the resource to copy from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// A whole top-level field.
    Field(&'static str),
    /// One field of a sub-message: `parent.child`.
    Child {
        parent: &'static str,
        child: &'static str,
    },
    /// One entry of a map field: `field.key`; the key is not empty.
    Key { field: &'static str, key: String },
}

impl Selected {
    /// The top-level field this selection changes.
    pub fn field(&self) -> &'static str {
        match self {
            Selected::Field(field) | Selected::Key { field, .. } => field,
            Selected::Child { parent, .. } => parent,
        }
    }
}

/// The paths of a request's mask; none when it has no mask.
pub fn paths(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

/// What `paths` select, in their order (`*` stands for every updatable field, in field
/// order). Paths are compared as given. An empty mask, and each path naming an immutable,
/// output-only or unknown field, is reported on `update_mask`; the other paths are still
/// selected.
pub fn select(rules: &Rules, paths: &[String], v: &mut Violations) -> Vec<Selected> {
    if paths.is_empty() {
        v.add(
            FIELD,
            "is required: name the fields to change, or \"*\" for all",
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_str();
        if path == "*" {
            out.extend(rules.updatable.iter().map(|f| Selected::Field(f)));
        } else if let Some(field) = find(rules.updatable, path) {
            out.push(Selected::Field(field));
        } else if rules.immutable.contains(&path) {
            v.add(FIELD, format!("{path:?} is immutable"));
        } else if let Some((_, why)) = rules.explained.iter().find(|(f, _)| *f == path) {
            v.add(FIELD, format!("{path:?} {why}"));
        } else if rules.output_only.contains(&path) {
            v.add(FIELD, format!("{path:?} is output only"));
        } else if let Some(selected) = select_inside(rules, path) {
            out.push(selected);
        } else if rules.list_updatable {
            v.add(
                FIELD,
                format!(
                    "{path:?} is not a field of {} that can be updated; use {}",
                    rules.resource,
                    rules.updatable.join(", ")
                ),
            );
        } else {
            v.add(
                FIELD,
                format!(
                    "{path:?} is not a field of {} that can be updated",
                    rules.resource
                ),
            );
        }
    }
    out
}

/// The top-level fields `selected` changes, in the resource's field order, once each.
pub fn fields(rules: &Rules, selected: &[Selected]) -> Vec<&'static str> {
    rules
        .updatable
        .iter()
        .copied()
        .filter(|f| selected.iter().any(|s| s.field() == *f))
        .collect()
}

/// `field` as the rules spell it, when it is one of `fields`.
fn find(fields: &'static [&'static str], field: &str) -> Option<&'static str> {
    fields.iter().copied().find(|f| *f == field)
}

/// A `parent.child` path naming a field of a sub-message or an entry of a map.
fn select_inside(rules: &Rules, path: &str) -> Option<Selected> {
    let (parent, child) = path.split_once('.')?;
    if let Some(nested) = rules.nested.iter().find(|n| n.parent == parent) {
        let child = find(nested.children, child)?;
        return Some(Selected::Child {
            parent: nested.parent,
            child,
        });
    }
    let field = find(rules.keyed, parent)?;
    (!child.is_empty()).then(|| Selected::Key {
        field,
        key: child.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORE: Rules = Rules {
        updatable: &["display_name", "region"],
        immutable: &["name"],
        output_only: &["etag"],
        ..Rules::new("Store")
    };

    const PERSON: Rules = Rules {
        updatable: &["display_name", "profile", "labels"],
        immutable: &["kind"],
        explained: &[("owner_id", "changes only through TransferPerson")],
        output_only: &["create_time"],
        nested: &[Nested {
            parent: "profile",
            children: &["gender", "title"],
        }],
        keyed: &["labels"],
        list_updatable: false,
        ..Rules::new("Person")
    };

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    /// What `rules` select of `p`, and the descriptions of what they refuse.
    fn run(rules: &Rules, p: &[&str]) -> (Vec<Selected>, Vec<String>) {
        let mut v = Violations::new();
        let selected = select(rules, &paths(p), &mut v);
        assert!(v.items().iter().all(|i| i.field == "update_mask"));
        let refused = v.into_vec().into_iter().map(|i| i.description).collect();
        (selected, refused)
    }

    #[test]
    fn star_selects_every_updatable_field_in_place() {
        let (selected, refused) = run(&STORE, &["region", "*"]);
        assert!(refused.is_empty());
        assert_eq!(
            selected,
            [
                Selected::Field("region"),
                Selected::Field("display_name"),
                Selected::Field("region"),
            ]
        );
        assert_eq!(fields(&STORE, &selected), ["display_name", "region"]);
    }

    #[test]
    fn an_empty_mask_is_refused() {
        let (selected, refused) = run(&STORE, &[]);
        assert!(selected.is_empty());
        assert_eq!(
            refused,
            ["is required: name the fields to change, or \"*\" for all"]
        );
    }

    #[test]
    fn other_fields_are_refused_and_the_rest_selected() {
        let (selected, refused) = run(&STORE, &["name", "region", "etag", "nope", " region"]);
        assert_eq!(selected, [Selected::Field("region")]);
        assert_eq!(
            refused,
            [
                "\"name\" is immutable",
                "\"etag\" is output only",
                "\"nope\" is not a field of Store that can be updated; use display_name, region",
                "\" region\" is not a field of Store that can be updated; use display_name, \
                 region",
            ]
        );
    }

    #[test]
    fn nested_fields_and_map_entries_are_selected_by_path() {
        let (selected, refused) = run(
            &PERSON,
            &["profile.title", "labels.vip", "labels.a.b", "profile"],
        );
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(
            selected,
            [
                Selected::Child {
                    parent: "profile",
                    child: "title"
                },
                Selected::Key {
                    field: "labels",
                    key: "vip".into()
                },
                Selected::Key {
                    field: "labels",
                    key: "a.b".into()
                },
                Selected::Field("profile"),
            ]
        );
        assert_eq!(fields(&PERSON, &selected), ["profile", "labels"]);
    }

    #[test]
    fn explanations_replace_is_immutable() {
        let (selected, refused) = run(
            &PERSON,
            &[
                "kind",
                "owner_id",
                "create_time",
                "profile.shoe_size",
                "labels.",
                "display_name.x",
                "nickname",
            ],
        );
        assert!(selected.is_empty());
        assert_eq!(
            refused,
            [
                "\"kind\" is immutable",
                "\"owner_id\" changes only through TransferPerson",
                "\"create_time\" is output only",
                "\"profile.shoe_size\" is not a field of Person that can be updated",
                "\"labels.\" is not a field of Person that can be updated",
                "\"display_name.x\" is not a field of Person that can be updated",
                "\"nickname\" is not a field of Person that can be updated",
            ]
        );
    }

    #[test]
    fn a_missing_mask_has_no_paths() {
        assert!(super::paths(None).is_empty());
        let mask = prost_types::FieldMask {
            paths: paths(&["a"]),
        };
        assert_eq!(super::paths(Some(mask)), ["a"]);
    }
}
