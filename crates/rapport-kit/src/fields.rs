//! Tenant-defined typed fields (customers' custom fields, products' attributes): their
//! definitions and the type check of values. Violations are reported under the `list` a
//! caller names (`custom_fields`, `settings.attribute_definitions`, …).

use std::collections::{BTreeMap, HashSet};

use rapport_runtime::validation::Violations;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest string value.
pub const MAX_STRING_VALUE: usize = 1000;
/// Longest key.
pub const MAX_KEY: usize = 64;
/// Longest display name, and longest ENUM option.
pub const MAX_DISPLAY_NAME: usize = 128;
/// Most custom fields a tenant may define.
pub const MAX_DEFINITIONS: usize = 100;
/// Most options of an ENUM field.
pub const MAX_OPTIONS: usize = 200;
/// Integers must survive a round trip through an IEEE double (JSON, protobuf `Value`).
pub const MAX_SAFE_INTEGER: i64 = 1 << 53;

/// The type a custom field's values must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomFieldType {
    /// A string, up to 1000 characters.
    String,
    /// Any finite number.
    Number,
    /// A whole number within ±2^53.
    Integer,
    /// true or false.
    Boolean,
    /// A date written "YYYY-MM-DD".
    Date,
    /// One of the definition's options.
    Enum,
}

/// A tenant-defined field, as stored in the tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    /// The key in `Customer.custom_fields`, lower_snake_case, 1..64 characters.
    pub key: String,
    /// Human label, 1..128 characters.
    pub display_name: String,
    /// The type values must have.
    pub field_type: CustomFieldType,
    /// Whether every customer must have a value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// For [`CustomFieldType::Enum`] only: the allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A definition as a client wrote it, before [`parse_definitions`] checks it. `field_type` is
/// `None` when the client left it unset (or sent an unknown type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomFieldDefInput {
    /// See [`CustomFieldDef::key`].
    pub key: String,
    /// See [`CustomFieldDef::display_name`].
    pub display_name: String,
    /// See [`CustomFieldDef::field_type`].
    pub field_type: Option<CustomFieldType>,
    /// See [`CustomFieldDef::required`].
    pub required: bool,
    /// See [`CustomFieldDef::options`].
    pub options: Vec<String>,
}

impl From<CustomFieldDef> for CustomFieldDefInput {
    fn from(def: CustomFieldDef) -> Self {
        Self {
            key: def.key,
            display_name: def.display_name,
            field_type: Some(def.field_type),
            required: def.required,
            options: def.options,
        }
    }
}

/// Checks a tenant's definitions and returns the valid ones. Violations are reported as
/// `{list}[i].key`, `.display_name`, `.type`, `.options[j]` relative to `v`'s prefix.
/// Display names and options are trimmed.
pub fn parse_definitions(
    inputs: &[CustomFieldDefInput],
    list: &str,
    v: &mut Violations,
) -> Vec<CustomFieldDef> {
    if inputs.len() > MAX_DEFINITIONS {
        v.add(list, format!("has more than {MAX_DEFINITIONS} fields"));
    }
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate().take(MAX_DEFINITIONS) {
        let before = v.items().len();
        let field = |name: &str| format!("{list}[{i}].{name}");
        let key = input.key.as_str();
        if let Err(reason) = check_key(key) {
            v.add(field("key"), reason);
        } else if !keys.insert(key) {
            v.add(field("key"), format!("{key:?} is defined more than once"));
        }
        let display_name = input.display_name.trim();
        if display_name.is_empty() {
            v.add(field("display_name"), "is required");
        } else if display_name.chars().count() > MAX_DISPLAY_NAME {
            v.add(
                field("display_name"),
                format!("is longer than {MAX_DISPLAY_NAME} characters"),
            );
        } else if display_name.chars().any(char::is_control) {
            v.add(field("display_name"), "must not contain control characters");
        }
        let Some(field_type) = input.field_type else {
            v.add(field("type"), "is required");
            continue;
        };
        let mut options = Vec::with_capacity(input.options.len());
        if field_type == CustomFieldType::Enum {
            if input.options.is_empty() {
                v.add(
                    field("options"),
                    "needs at least one option for an ENUM field",
                );
            }
            if input.options.len() > MAX_OPTIONS {
                v.add(
                    field("options"),
                    format!("has more than {MAX_OPTIONS} options"),
                );
            }
            for (j, option) in input.options.iter().enumerate() {
                let option = option.trim();
                let path = format!("{list}[{i}].options[{j}]");
                if option.is_empty() {
                    v.add(path, "is empty");
                } else if option.chars().count() > MAX_DISPLAY_NAME {
                    v.add(
                        path,
                        format!("is longer than {MAX_DISPLAY_NAME} characters"),
                    );
                } else if options.iter().any(|o| o == option) {
                    v.add(path, format!("{option:?} is listed more than once"));
                } else {
                    options.push(option.to_owned());
                }
            }
        } else if !input.options.is_empty() {
            v.add(field("options"), "is only allowed for ENUM fields");
        }
        if v.items().len() == before {
            out.push(CustomFieldDef {
                key: key.to_owned(),
                display_name: display_name.to_owned(),
                field_type,
                required: input.required,
                options,
            });
        }
    }
    out
}

/// Whether `key` is lower_snake_case, 1..64 characters, starting with a letter.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("is required".into());
    }
    if key.len() > MAX_KEY {
        return Err(format!("is longer than {MAX_KEY} characters"));
    }
    let ok = key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(format!(
            "{key:?} is not lower_snake_case (a-z, 0-9 and _, starting with a letter)"
        ));
    }
    Ok(())
}

/// Type-checks values against the tenant's definitions and returns them normalized (integers
/// as JSON integers). A null value means the field is absent. Violations are reported as
/// `{map}.<key>` relative to `v`'s prefix; with `open`, keys without a definition are kept as
/// they are (free text), otherwise refused.
pub fn check_values(
    defs: &[CustomFieldDef],
    values: &Map<String, Value>,
    (map, open): (&str, bool),
    v: &mut Violations,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (key, value) in values {
        let path = format!("{map}.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            if open {
                out.insert(key.clone(), value.clone());
            } else {
                v.add(path, "is not a custom field of this tenant");
            }
            continue;
        };
        if value.is_null() {
            continue;
        }
        match check_value(def, value) {
            Ok(value) => {
                out.insert(key.clone(), value);
            }
            Err(reason) => v.add(path, reason),
        }
    }
    for def in defs.iter().filter(|d| d.required) {
        let absent = values.get(&def.key).is_none_or(Value::is_null);
        if absent {
            v.add(format!("{map}.{}", def.key), "is required");
        }
    }
    out
}

/// A value written as text (a product attribute) as the definition's type reads it: a number
/// for NUMBER and INTEGER, true or false for BOOLEAN, the text itself otherwise; what does not
/// read stays text, for [`check_value`] to refuse.
pub fn from_text(def: &CustomFieldDef, text: &str) -> Value {
    let text = text.trim();
    match def.field_type {
        CustomFieldType::Number | CustomFieldType::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::from(text)),
        CustomFieldType::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::from(text),
        },
        _ => Value::from(text),
    }
}

/// The value, normalized, when it has the definition's type.
pub fn check_value(def: &CustomFieldDef, value: &Value) -> Result<Value, String> {
    match def.field_type {
        CustomFieldType::String => match value {
            Value::String(s) if s.chars().count() > MAX_STRING_VALUE => {
                Err(format!("is longer than {MAX_STRING_VALUE} characters"))
            }
            Value::String(_) => Ok(value.clone()),
            _ => Err("must be a string".into()),
        },
        CustomFieldType::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            _ => Err("must be a number".into()),
        },
        CustomFieldType::Integer => {
            let whole = match value {
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        Some(i)
                    } else if let Some(f) = n.as_f64() {
                        // Protobuf and JSON clients send every number as a double.
                        (f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64).then_some(f as i64)
                    } else {
                        None
                    }
                }
                _ => return Err("must be a whole number".into()),
            };
            match whole {
                Some(i) if i.abs() <= MAX_SAFE_INTEGER => Ok(Value::from(i)),
                _ => Err("must be a whole number between -2^53 and 2^53".into()),
            }
        }
        CustomFieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err("must be true or false".into()),
        },
        CustomFieldType::Date => match value {
            Value::String(s) if is_iso_date(s) => Ok(value.clone()),
            _ => Err("must be a date written \"YYYY-MM-DD\"".into()),
        },
        CustomFieldType::Enum => match value {
            Value::String(s) if def.options.contains(s) => Ok(value.clone()),
            _ => Err(format!("must be one of {}", def.options.join(", "))),
        },
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD` (years 0001..9999).
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) {
        return false;
    }
    if !digits(8..10) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (s[0..4].parse(), s[5..7].parse::<u8>(), s[8..10].parse())
    else {
        return false;
    };
    let Ok(month) = time::Month::try_from(month) else {
        return false;
    };
    year >= 1 && time::Date::from_calendar_date(year, month, day).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn def(key: &str, field_type: CustomFieldType) -> CustomFieldDef {
        CustomFieldDef {
            key: key.into(),
            display_name: key.into(),
            field_type,
            required: false,
            options: vec![],
        }
    }

    fn defs() -> Vec<CustomFieldDef> {
        vec![
            def("note", CustomFieldType::String),
            def("area", CustomFieldType::Number),
            def("rooms", CustomFieldType::Integer),
            def("has_pets", CustomFieldType::Boolean),
            def("move_in", CustomFieldType::Date),
            CustomFieldDef {
                options: vec!["S".into(), "M".into(), "L".into()],
                required: true,
                ..def("size", CustomFieldType::Enum)
            },
        ]
    }

    fn check(values: Value) -> (BTreeMap<String, Value>, Vec<(String, String)>) {
        let mut v = Violations::new();
        let out = check_values(
            &defs(),
            values.as_object().unwrap(),
            ("custom_fields", false),
            &mut v,
        );
        let found = v
            .into_vec()
            .into_iter()
            .map(|f| (f.field, f.description))
            .collect();
        (out, found)
    }

    fn fields(found: &[(String, String)]) -> Vec<&str> {
        found.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn good_values_pass_normalized() {
        let (out, found) = check(json!({
            "note": "likes oak", "area": 88.5, "rooms": 3.0, "has_pets": false,
            "move_in": "2024-02-29", "size": "M",
        }));
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(out["rooms"], json!(3));
        assert!(out["rooms"].is_i64());
        assert_eq!(out["area"], json!(88.5));
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn every_bad_value_is_reported() {
        let (out, found) = check(json!({
            "note": "x".repeat(1001), "area": "big", "rooms": 2.5, "has_pets": "yes",
            "move_in": "2023-02-29", "colour": "red",
        }));
        assert!(out.is_empty());
        let mut got = fields(&found);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "custom_fields.area",
                "custom_fields.colour",
                "custom_fields.has_pets",
                "custom_fields.move_in",
                "custom_fields.note",
                "custom_fields.rooms",
                "custom_fields.size",
            ]
        );
        let colour = found
            .iter()
            .find(|(f, _)| f == "custom_fields.colour")
            .unwrap();
        assert_eq!(colour.1, "is not a custom field of this tenant");
    }

    #[test]
    fn integers_must_be_whole_and_safe() {
        let big = (MAX_SAFE_INTEGER + 1) as f64;
        for (value, ok) in [
            (json!(9_007_199_254_740_992_i64), true),
            (json!(-9_007_199_254_740_992_i64), true),
            (json!(9_007_199_254_740_993_i64), false),
            (json!(big * 2.0), false),
            (json!(u64::MAX), false),
            (json!(-4.0), true),
            (json!(0.1), false),
        ] {
            let (_, found) = check(json!({ "size": "S", "rooms": value }));
            assert_eq!(found.is_empty(), ok, "{value}: {found:?}");
        }
    }

    #[test]
    fn dates_must_be_real_and_well_formed() {
        for (value, ok) in [
            ("2024-02-29", true),
            ("2023-02-29", false),
            ("2024-2-29", false),
            ("2024-13-01", false),
            ("0000-01-01", false),
            ("2024-01-01T00:00:00Z", false),
            ("２０２４-01-01", false),
        ] {
            let (_, found) = check(json!({ "size": "S", "move_in": value }));
            assert_eq!(found.is_empty(), ok, "{value}: {found:?}");
        }
    }

    #[test]
    fn enums_take_only_their_options() {
        let (_, found) = check(json!({ "size": "XL" }));
        assert_eq!(found[0].1, "must be one of S, M, L");
    }

    #[test]
    fn null_means_absent_and_required_fields_must_be_present() {
        let (out, found) = check(json!({ "note": null, "size": null }));
        assert!(out.is_empty());
        assert_eq!(
            found,
            [("custom_fields.size".to_owned(), "is required".to_owned())]
        );
    }

    fn input(
        key: &str,
        field_type: Option<CustomFieldType>,
        options: &[&str],
    ) -> CustomFieldDefInput {
        CustomFieldDefInput {
            key: key.into(),
            display_name: format!("{key} label"),
            field_type,
            required: false,
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn text_reads_as_the_definitions_type() {
        let area = def("area", CustomFieldType::Number);
        assert_eq!(from_text(&area, "90"), json!(90));
        assert_eq!(from_text(&area, "144.5"), json!(144.5));
        assert_eq!(from_text(&area, "big"), json!("big"));
        assert!(check_value(&area, &from_text(&area, "big")).is_err());
        let pets = def("pets", CustomFieldType::Boolean);
        assert_eq!(from_text(&pets, "true"), json!(true));
        let mut v = Violations::new();
        let open = check_values(
            &[area],
            json!({"area": 90, "colour": "grey"}).as_object().unwrap(),
            ("attributes", true),
            &mut v,
        );
        assert!(v.is_empty());
        assert_eq!(open["colour"], json!("grey"));
    }

    #[test]
    fn good_definitions_parse() {
        let mut v = Violations::new();
        let defs = parse_definitions(
            &[
                input("budget_note", Some(CustomFieldType::String), &[]),
                input("size", Some(CustomFieldType::Enum), &["S", " M "]),
            ],
            "custom_fields",
            &mut v,
        );
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[1].options, ["S", "M"]);
    }

    #[test]
    fn bad_definitions_are_all_reported() {
        let mut v = Violations::with_prefix("settings");
        let mut nameless = input("ok_key", Some(CustomFieldType::Boolean), &[]);
        nameless.display_name = " ".into();
        let defs = parse_definitions(
            &[
                input("Size", Some(CustomFieldType::String), &[]),
                input("1st", Some(CustomFieldType::String), &[]),
                input("dup", Some(CustomFieldType::String), &[]),
                input("dup", Some(CustomFieldType::Number), &[]),
                input("kind", None, &[]),
                input("colour", Some(CustomFieldType::Enum), &[]),
                input("tier", Some(CustomFieldType::Enum), &["a", "a", ""]),
                input("flag", Some(CustomFieldType::Boolean), &["x"]),
                nameless,
                input(&"k".repeat(65), Some(CustomFieldType::String), &[]),
            ],
            "custom_fields",
            &mut v,
        );
        let got: Vec<&str> = v.items().iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "settings.custom_fields[0].key",
                "settings.custom_fields[1].key",
                "settings.custom_fields[3].key",
                "settings.custom_fields[4].type",
                "settings.custom_fields[5].options",
                "settings.custom_fields[6].options[1]",
                "settings.custom_fields[6].options[2]",
                "settings.custom_fields[7].options",
                "settings.custom_fields[8].display_name",
                "settings.custom_fields[9].key",
            ]
        );
        assert_eq!(
            defs.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
            ["dup"]
        );
    }

    #[test]
    fn definitions_round_trip_through_json() {
        let defs = defs();
        let json = serde_json::to_string(&defs).unwrap();
        assert!(json.contains(r#""field_type":"enum""#));
        let back: Vec<CustomFieldDef> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, defs);
    }
}
