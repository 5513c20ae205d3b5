//! `order_by` after AIP-132, restricted to one field: keyset pagination needs a single sort
//! column (plus the id as tie-breaker) that an index can serve.

use rapport_runtime::validation::FieldViolation;

/// The order of a list: one field, ascending or descending, ties broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// The field name as the API spells it (one of the service's allowed fields).
    pub field: &'static str,
    /// Whether the order is descending.
    pub desc: bool,
}

impl OrderBy {
    /// Ascending order on `field`.
    pub const fn asc(field: &'static str) -> Self {
        Self { field, desc: false }
    }

    /// Descending order on `field`.
    pub const fn desc(field: &'static str) -> Self {
        Self { field, desc: true }
    }

    /// The canonical text (`"field"` or `"field desc"`), e.g. for page-token fingerprints, so
    /// that `"name asc"` and `" name "` mint interchangeable tokens.
    pub fn canonical(&self) -> String {
        if self.desc {
            format!("{} desc", self.field)
        } else {
            self.field.to_owned()
        }
    }
}

/// Parses a request's `order_by`: `"field"`, `"field asc"` or `"field desc"`, where `field` is
/// one of `allowed`. An empty `order_by` means `default`.
pub fn parse_order_by(
    raw: &str,
    allowed: &[&'static str],
    default: OrderBy,
) -> Result<OrderBy, FieldViolation> {
    let invalid = |description: String| FieldViolation {
        field: "order_by".to_owned(),
        description,
    };
    let words: Vec<&str> = raw.split_whitespace().collect();
    let (name, desc) = match words.as_slice() {
        [] => return Ok(default),
        [name] => (*name, false),
        [name, dir] if dir.eq_ignore_ascii_case("asc") => (*name, false),
        [name, dir] if dir.eq_ignore_ascii_case("desc") => (*name, true),
        [_, dir] => {
            return Err(invalid(format!(
                "unknown direction \"{dir}\"; write \"field\", \"field asc\" or \"field desc\""
            )));
        }
        _ => {
            return Err(invalid(
                "sorts by one field only; write \"field\", \"field asc\" or \"field desc\""
                    .to_owned(),
            ));
        }
    };
    if name.contains(',') {
        return Err(invalid(
            "sorts by one field only; write \"field\", \"field asc\" or \"field desc\"".to_owned(),
        ));
    }
    match allowed.iter().find(|f| **f == name) {
        Some(field) => Ok(OrderBy { field, desc }),
        None => Err(invalid(format!(
            "cannot sort by \"{name}\"; sortable fields are: {}",
            allowed.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: &[&str] = &["create_time", "display_name"];
    const DEFAULT: OrderBy = OrderBy::desc("create_time");

    fn parse(raw: &str) -> Result<OrderBy, FieldViolation> {
        parse_order_by(raw, ALLOWED, DEFAULT)
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse(""), Ok(DEFAULT));
        assert_eq!(parse("   "), Ok(DEFAULT));
        assert_eq!(parse("display_name"), Ok(OrderBy::asc("display_name")));
        assert_eq!(parse("display_name asc"), Ok(OrderBy::asc("display_name")));
        assert_eq!(
            parse("  display_name   desc "),
            Ok(OrderBy::desc("display_name"))
        );
        assert_eq!(parse("create_time DESC"), Ok(OrderBy::desc("create_time")));
        assert_eq!(parse("create_time\tasc"), Ok(OrderBy::asc("create_time")));
    }

    #[test]
    fn refused_forms() {
        let e = parse("email").unwrap_err();
        assert_eq!(e.field, "order_by");
        assert!(e.description.contains("create_time, display_name"), "{e}");

        for raw in [
            "display_name sideways",
            "display_name desc, create_time",
            "display_name,create_time",
            "a b c",
            "Display_Name",
        ] {
            let e = parse(raw).unwrap_err();
            assert_eq!(e.field, "order_by", "{raw}");
        }
        assert!(
            parse("a b c")
                .unwrap_err()
                .description
                .contains("one field")
        );
    }

    #[test]
    fn canonical_text() {
        assert_eq!(OrderBy::asc("a").canonical(), "a");
        assert_eq!(OrderBy::desc("a").canonical(), "a desc");
    }
}
