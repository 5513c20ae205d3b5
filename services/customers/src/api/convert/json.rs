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
