//! protobuf `Struct` <-> JSON, for custom fields and activity details (stored as JSON).

use prost_types::value::Kind;
use rapport_runtime::validation::Violations;
use serde_json::{Map, Number, Value};

use crate::domain::custom_fields::MAX_SAFE_INTEGER;

/// The JSON object of a protobuf `Struct`. Numbers that are not finite are reported (as
/// `<key>`, `<key>[i]`, `<key>.<sub>` relative to `v`'s prefix) and left out. Whole numbers
/// within ±2^53 become JSON integers.
pub fn struct_to_json(s: &prost_types::Struct, v: &mut Violations) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in &s.fields {
        if let Some(value) = value_to_json(value, key, v) {
            out.insert(key.clone(), value);
        }
    }
    out
}

/// The JSON value of a protobuf `Value`, or `None` (reported at `path`) when it holds a number
/// that is not finite. An unset value is null.
pub fn value_to_json(value: &prost_types::Value, path: &str, v: &mut Violations) -> Option<Value> {
    Some(match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER as f64 {
                Value::from(*n as i64)
            } else if let Some(n) = Number::from_f64(*n) {
                Value::Number(n)
            } else {
                v.add(path, "must be a finite number (not NaN or infinity)");
                return None;
            }
        }
        Some(Kind::ListValue(list)) => {
            let mut ok = true;
            let items = list
                .values
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    value_to_json(item, &format!("{path}[{i}]"), v).unwrap_or_else(|| {
                        ok = false;
                        Value::Null
                    })
                })
                .collect();
            if !ok {
                return None;
            }
            Value::Array(items)
        }
        Some(Kind::StructValue(s)) => {
            let before = v.items().len();
            let fields = v.nested(path, |v| struct_to_json(s, v));
            if v.items().len() > before {
                return None;
            }
            Value::Object(fields)
        }
    })
}

/// The protobuf `Struct` of JSON fields.
pub fn json_to_struct<'a>(
    fields: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> prost_types::Struct {
    prost_types::Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

/// The protobuf `Value` of a JSON value (numbers become doubles).
pub fn json_to_value(value: &Value) -> prost_types::Value {
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue.into()),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(json_to_struct(fields)),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use prost_types::{ListValue, Struct};

    use super::*;
    use crate::convert::fixtures::{number, string};

    #[test]
    fn structs_convert_to_json_and_back() {
        let s = Struct {
            fields: [
                ("n".to_owned(), number(2.5)),
                ("i".to_owned(), number(3.0)),
                (
                    "b".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                ),
                ("z".to_owned(), prost_types::Value { kind: None }),
                (
                    "l".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(ListValue {
                            values: vec![string("a"), number(1.0)],
                        })),
                    },
                ),
            ]
            .into(),
        };
        let mut v = Violations::new();
        let json = struct_to_json(&s, &mut v);
        assert!(v.is_empty());
        assert_eq!(
            serde_json::Value::Object(json.clone()),
            serde_json::json!({
                "n": 2.5, "i": 3, "b": true, "z": null, "l": ["a", 1],
            })
        );
        let back = json_to_struct(&json);
        assert_eq!(back.fields["n"], number(2.5));
        assert_eq!(back.fields["i"], number(3.0));
        assert_eq!(back.fields["l"], s.fields["l"]);
    }

    #[test]
    fn non_finite_numbers_are_reported_where_they_are() {
        let nested = Struct {
            fields: [("deep".to_owned(), number(f64::NEG_INFINITY))].into(),
        };
        let s = Struct {
            fields: [
                ("a".to_owned(), number(f64::NAN)),
                (
                    "l".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(ListValue {
                            values: vec![number(1.0), number(f64::INFINITY)],
                        })),
                    },
                ),
                (
                    "s".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::StructValue(nested)),
                    },
                ),
                ("ok".to_owned(), number(1.0)),
            ]
            .into(),
        };
        let mut v = Violations::with_prefix("custom_fields");
        let json = struct_to_json(&s, &mut v);
        let mut got: Vec<&str> = v.items().iter().map(|i| i.field.as_str()).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "custom_fields.a",
                "custom_fields.l[1]",
                "custom_fields.s.deep"
            ]
        );
        assert_eq!(json.keys().collect::<Vec<_>>(), ["ok"]);
    }
}
