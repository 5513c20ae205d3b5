//! `update_mask` after AIP-134: which fields an Update changes. `*` means every updatable field;
//! naming an immutable, output-only or unknown field is a violation of `update_mask`.

use rapport_runtime::validation::Violations;

/// What a resource's Update accepts in its mask.
pub(crate) struct MaskRules {
    /// The resource, in messages.
    pub resource: &'static str,
    /// Fields the Update may change, in the order they are reported.
    pub updatable: &'static [&'static str],
    /// Fields set once, on create.
    pub immutable: &'static [&'static str],
    /// Fields only the server sets.
    pub output_only: &'static [&'static str],
}

/// The paths of a request's mask; none when it has no mask.
pub(crate) fn paths(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

/// The updatable fields `paths` select; violations for the rest, and for an empty mask.
pub(crate) fn selected(
    rules: &MaskRules,
    paths: &[String],
    v: &mut Violations,
) -> Vec<&'static str> {
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name the fields to change, or \"*\" for all",
        );
        return Vec::new();
    }
    let mut out: Vec<&'static str> = Vec::new();
    for path in paths {
        let path = path.trim();
        if path == "*" {
            out.extend(rules.updatable);
        } else if let Some(field) = rules.updatable.iter().find(|f| **f == path) {
            out.push(field);
        } else if rules.immutable.contains(&path) {
            v.add("update_mask", format!("{path:?} is immutable"));
        } else if rules.output_only.contains(&path) {
            v.add("update_mask", format!("{path:?} is output only"));
        } else {
            v.add(
                "update_mask",
                format!(
                    "{path:?} is not a field of {} that can be updated; use {}",
                    rules.resource,
                    rules.updatable.join(", ")
                ),
            );
        }
    }
    // In the resource's field order, once each.
    rules
        .updatable
        .iter()
        .copied()
        .filter(|f| out.contains(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: MaskRules = MaskRules {
        resource: "Store",
        updatable: &["display_name", "region"],
        immutable: &["name"],
        output_only: &["etag"],
    };

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn star_selects_every_updatable_field() {
        let mut v = Violations::new();
        assert_eq!(
            selected(&RULES, &paths(&["*", "region"]), &mut v),
            ["display_name", "region"]
        );
        assert!(v.is_empty());
    }

    #[test]
    fn other_fields_and_an_empty_mask_are_refused() {
        let mut v = Violations::new();
        assert_eq!(
            selected(&RULES, &paths(&["region", "name", "etag", "nope"]), &mut v),
            ["region"]
        );
        assert_eq!(v.items().len(), 3);
        assert!(v.items().iter().all(|i| i.field == "update_mask"));
        let mut v = Violations::new();
        assert!(selected(&RULES, &[], &mut v).is_empty());
        assert_eq!(v.items().len(), 1);
    }
}
