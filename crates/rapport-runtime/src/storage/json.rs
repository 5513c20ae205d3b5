//! Values a service keeps as text in its rows: JSON documents, and enums in their stored
//! form. What was written by the service reads back, so a value that does not is the
//! service's bug (INTERNAL, naming the table), never the caller's.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Error, Result};

/// `value` as JSON text.
pub fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// A value read back from JSON text in `table`.
pub fn from_json<T: DeserializeOwned>(table: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::internal(format!("bad JSON in {table}: {e}")))
}

/// A stored enum value read back with `parse`.
pub fn stored<T>(table: &str, text: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| Error::internal(format!("bad value {text:?} in {table}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_and_what_does_not_is_internal() {
        let text = to_json(&vec![1, 2]).unwrap();
        assert_eq!(from_json::<Vec<i32>>("t", &text).unwrap(), [1, 2]);
        let bad = from_json::<Vec<i32>>("t", "{").unwrap_err();
        assert!(matches!(bad, Error::Internal(_)) && bad.to_string().contains("in t"));
        let parse = |s: &str| (s == "on").then_some(true);
        assert!(stored("t", "on", parse).unwrap());
        assert!(matches!(stored("t", "off", parse), Err(Error::Internal(_))));
    }
}
