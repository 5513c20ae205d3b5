//! Path templates of `google.api.http` rules: `/v1/{name=customers/*}:verb` and the like.
//!
//! ```text
//! Template = "/" Segments [ ":" Verb ] ;
//! Segment  = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}" ;
//! ```
//!
//! A variable without segments stands for one segment (`{id}` is `{id=*}`); `**` matches the
//! rest of the path and may only come last.

use percent_encoding::percent_decode_str;

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches itself.
    Literal(String),
    /// `*`: one non-empty segment.
    One,
    /// `**`: the rest of the path (any number of segments).
    Rest,
}

/// A variable: the request field it fills and the segments it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Dotted field path in the request message (`customer.name`).
    pub field: String,
    /// Index of its first segment.
    pub start: usize,
    /// One past its last segment.
    pub end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// The segments, variables expanded in place.
    pub segments: Vec<Segment>,
    /// The variables, in order.
    pub variables: Vec<Variable>,
    /// The custom verb after the last `:`, if any.
    pub verb: Option<String>,
}

impl PathTemplate {
    /// Parses `template`, saying what is wrong with it when it does not parse.
    pub fn parse(template: &str) -> Result<Self, String> {
        let rest = template
            .strip_prefix('/')
            .ok_or_else(|| format!("{template}: a path template starts with /"))?;
        // The verb follows the last ':' that is outside braces.
        let (path, verb) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('}') => (&rest[..i], Some(rest[i + 1..].to_owned())),
            _ => (rest, None),
        };
        let mut out = PathTemplate {
            segments: Vec::new(),
            variables: Vec::new(),
            verb,
        };
        let mut chars = path;
        while !chars.is_empty() {
            if let Some(inner) = chars.strip_prefix('{') {
                let close = inner
                    .find('}')
                    .ok_or_else(|| format!("{template}: unclosed {{"))?;
                let (field, pattern) = match inner[..close].split_once('=') {
                    Some((f, p)) => (f, p),
                    None => (&inner[..close], "*"),
                };
                if field.is_empty() || pattern.contains(['{', '}']) {
                    return Err(format!("{template}: bad variable {{{}}}", &inner[..close]));
                }
                let start = out.segments.len();
                for part in pattern.split('/') {
                    out.segments.push(segment(part, template)?);
                }
                out.variables.push(Variable {
                    field: field.to_owned(),
                    start,
                    end: out.segments.len(),
                });
                chars = &inner[close + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                out.segments.push(segment(&chars[..end], template)?);
                chars = &chars[end..];
            }
            chars = match chars.strip_prefix('/') {
                Some("") => return Err(format!("{template}: trailing /")),
                Some(next) => next,
                None if chars.is_empty() => chars,
                None => return Err(format!("{template}: expected / after a variable")),
            };
        }
        let rest_at = out.segments.iter().position(|s| *s == Segment::Rest);
        if rest_at.is_some_and(|i| i + 1 != out.segments.len()) {
            return Err(format!("{template}: ** may only come last"));
        }
        Ok(out)
    }

    /// Matches `path` (as sent, percent-encoded), returning each variable's field and its
    /// decoded value; `None` when the path does not match.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let mut rest = path.strip_prefix('/')?;
        match &self.verb {
            Some(verb) => rest = rest.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            // A ':' in the last segment as sent starts a verb (`%3A` is a plain colon).
            None if rest
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':')) =>
            {
                return None;
            }
            None => {}
        }
        let parts: Vec<&str> = rest.split('/').collect();
        let tail = self.segments.last() == Some(&Segment::Rest);
        let fixed = self.segments.len() - usize::from(tail);
        if parts.len() < fixed || (!tail && parts.len() != fixed) {
            return None;
        }
        let mut decoded = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let value = percent_decode_str(part).decode_utf8().ok()?;
            match self.segments.get(i) {
                Some(Segment::Literal(lit)) if *lit != value => return None,
                Some(Segment::One) if value.is_empty() => return None,
                _ => {}
            }
            decoded.push(value.into_owned());
        }
        let values = self
            .variables
            .iter()
            .map(|v| {
                let end = if v.end == self.segments.len() && tail {
                    decoded.len()
                } else {
                    v.end
                };
                (v.field.clone(), decoded[v.start..end].join("/"))
            })
            .collect();
        Some(values)
    }

    /// How specific the template is, to choose between templates matching the same path: one
    /// with a verb first, then the one with more literal segments.
    pub fn specificity(&self) -> (bool, usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let rest = usize::from(self.segments.last() != Some(&Segment::Rest));
        (self.verb.is_some(), literals, rest)
    }
}

fn segment(part: &str, template: &str) -> Result<Segment, String> {
    match part {
        "" => Err(format!("{template}: empty segment")),
        "*" => Ok(Segment::One),
        "**" => Ok(Segment::Rest),
        lit if lit.contains(['{', '}', '*', ':']) => Err(format!("{template}: bad segment {lit}")),
        lit => Ok(Segment::Literal(lit.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        PathTemplate::parse(template).expect("parses").matches(path)
    }

    fn pair(field: &str, value: &str) -> (String, String) {
        (field.to_owned(), value.to_owned())
    }

    #[test]
    fn literal_paths_match_only_themselves() {
        assert_eq!(vars("/v1/customers", "/v1/customers"), Some(vec![]));
        assert_eq!(vars("/v1/customers", "/v1/customers/x"), None);
        assert_eq!(vars("/v1/customers", "/v1/leads"), None);
        assert_eq!(vars("/v1/customers", "v1/customers"), None);
    }

    #[test]
    fn variables_take_their_segments() {
        assert_eq!(
            vars("/v1/{name=customers/*}", "/v1/customers/01ab"),
            Some(vec![pair("name", "customers/01ab")])
        );
        assert_eq!(
            vars(
                "/v1/{name=orders/*/returns/*}",
                "/v1/orders/o1/returns/r%2F2"
            ),
            Some(vec![pair("name", "orders/o1/returns/r/2")])
        );
        assert_eq!(
            vars(
                "/v1/{parent=customers/*}/activities",
                "/v1/customers/c1/activities"
            ),
            Some(vec![pair("parent", "customers/c1")])
        );
        assert_eq!(
            vars("/v1/{customer.name=customers/*}", "/v1/customers/c1"),
            Some(vec![pair("customer.name", "customers/c1")])
        );
        assert_eq!(vars("/v1/{id}", "/v1/a%20b"), Some(vec![pair("id", "a b")]));
        assert_eq!(vars("/v1/{name=customers/*}", "/v1/leads/01ab"), None);
        assert_eq!(vars("/v1/{name=customers/*}", "/v1/customers/"), None);
        assert_eq!(vars("/v1/{name=customers/*}", "/v1/customers/a/b"), None);
    }

    #[test]
    fn verbs_are_part_of_the_last_segment() {
        let t = "/v1/{name=leads/*}:assign";
        assert_eq!(
            vars(t, "/v1/leads/l1:assign"),
            Some(vec![pair("name", "leads/l1")])
        );
        assert_eq!(vars(t, "/v1/leads/l1"), None);
        assert_eq!(vars(t, "/v1/leads/l1:claim"), None);
        assert_eq!(vars("/v1/leads:funnel", "/v1/leads:funnel"), Some(vec![]));
        // A verb-less template never takes a custom method's path.
        assert_eq!(vars("/v1/leads", "/v1/leads:funnel"), None);
        assert_eq!(vars("/v1/{name=leads/*}", "/v1/leads/l1:claim"), None);
        assert_eq!(
            vars("/v1/{name=leads/*}", "/v1/leads/l1%3Aclaim"),
            Some(vec![pair("name", "leads/l1:claim")])
        );
    }

    #[test]
    fn double_wildcards_take_the_rest() {
        assert_eq!(
            vars("/v1/{path=files/**}", "/v1/files/a/b/c"),
            Some(vec![pair("path", "files/a/b/c")])
        );
        assert_eq!(
            vars("/v1/{path=files/**}", "/v1/files"),
            Some(vec![pair("path", "files")])
        );
        assert!(PathTemplate::parse("/v1/**/x").is_err());
    }

    #[test]
    fn singletons_are_literal_variables() {
        assert_eq!(
            vars("/v1/{name=settings}", "/v1/settings"),
            Some(vec![pair("name", "settings")])
        );
        assert_eq!(vars("/v1/{name=settings}", "/v1/other"), None);
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "v1/x",
            "/v1/{name",
            "/v1/{=x}",
            "/v1/x/",
            "/v1//x",
            "/v1/{a}b",
        ] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verbs_and_literals_are_more_specific() {
        let get = PathTemplate::parse("/v1/{name=customers/*}").expect("parses");
        let verb = PathTemplate::parse("/v1/{name=customers/*}:merge").expect("parses");
        let settings = PathTemplate::parse("/v1/customers/settings").expect("parses");
        assert!(verb.specificity() > get.specificity());
        assert!(settings.specificity() > get.specificity());
    }
}
