//! Collecting every bad field of a request at once. Free of I/O so domain code can use it.

use std::fmt;

/// One bad field: its path in the request (e.g. `customer.phones[1].number`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, dotted, with `[i]` for list elements.
    pub field: String,
    /// What is wrong, in a sentence a client developer understands.
    pub description: String,
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Accumulates violations while a request is parsed, so one error names every bad field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations {
    items: Vec<FieldViolation>,
    prefix: String,
}

impl Violations {
    /// An empty collector whose fields are reported as given.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty collector that reports its fields under `prefix` (e.g. `customer`).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            items: Vec::new(),
            prefix: prefix.into(),
        }
    }

    /// Records that `field` is bad.
    pub fn add(&mut self, field: impl AsRef<str>, description: impl Into<String>) {
        let field = field.as_ref();
        let field = match (self.prefix.is_empty(), field.is_empty()) {
            (true, _) => field.to_owned(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{}", self.prefix, field),
        };
        self.items.push(FieldViolation {
            field,
            description: description.into(),
        });
    }

    /// The value of `result`, or None with its field violations recorded (as given, without the
    /// prefix). Errors other than INVALID_ARGUMENT cannot come from parsing; they are recorded
    /// under `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, crate::Error>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(crate::Error::InvalidArgument(items)) => {
                self.items.extend(items);
                None
            }
            Err(e) => {
                self.items.push(FieldViolation {
                    field: field.to_owned(),
                    description: e.to_string(),
                });
                None
            }
        }
    }

    /// Runs `f` with a collector nested under `field`, and keeps what it found.
    pub fn nested<T>(&mut self, field: impl AsRef<str>, f: impl FnOnce(&mut Violations) -> T) -> T {
        let prefix = match (self.prefix.is_empty(), field.as_ref()) {
            (true, field) => field.to_owned(),
            (false, "") => self.prefix.clone(),
            (false, field) => format!("{}.{}", self.prefix, field),
        };
        let mut inner = Violations::with_prefix(prefix);
        let out = f(&mut inner);
        self.items.extend(inner.items);
        out
    }

    /// Moves the violations of `other` (already prefixed) into this collector.
    pub fn extend(&mut self, other: Violations) {
        self.items.extend(other.items);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The violations found so far.
    pub fn items(&self) -> &[FieldViolation] {
        &self.items
    }

    /// `Ok(value)` when nothing was found, else every violation.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldViolation>> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            Err(self.items)
        }
    }

    /// The violations, consuming the collector.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_carry_their_path() {
        let mut v = Violations::with_prefix("customer");
        v.add("display_name", "is required");
        v.nested("phones[1]", |v| v.add("number", "is not a phone number"));
        let fields: Vec<_> = v.items().iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["customer.display_name", "customer.phones[1].number"]
        );
        assert!(v.finish(()).is_err());
    }

    #[test]
    fn empty_collector_finishes_ok() {
        assert_eq!(Violations::new().finish(7), Ok(7));
    }
}
