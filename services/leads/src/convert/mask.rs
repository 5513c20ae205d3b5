//! Update masks of the leads resources, read by the kit's engine. Leads ignores spaces around a
//! path, as it always has.

use rapport_kit::mask::{self, Rules};
use rapport_runtime::validation::Violations;

pub(crate) use rapport_kit::mask::paths;

/// The updatable fields `paths` select, in the resource's field order, once each; violations
/// for the rest and for an empty mask.
pub(crate) fn selected(rules: &Rules, paths: &[String], v: &mut Violations) -> Vec<&'static str> {
    let trimmed: Vec<String> = paths.iter().map(|p| p.trim().to_owned()).collect();
    mask::fields(rules, &mask::select(rules, &trimmed, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        updatable: &["display_name", "region"],
        immutable: &["name"],
        output_only: &["etag"],
        ..Rules::new("Store")
    };

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn star_selects_every_updatable_field() {
        let mut v = Violations::new();
        assert_eq!(
            selected(&RULES, &paths(&["*", " region "]), &mut v),
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
