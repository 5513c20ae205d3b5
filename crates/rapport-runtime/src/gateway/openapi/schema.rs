//! JSON schemas of messages and enums as the proto3 JSON mapping writes them: lowerCamelCase
//! names, 64-bit integers as strings, enums by name, the well-known types in their own forms.
//! Messages and enums are components referred to by full name, so recursive types are fine.

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::comments::Comments;

/// The component schemas met so far, and those still to write.
pub struct Schemas<'a> {
    comments: &'a Comments,
    written: BTreeMap<String, Value>,
    messages: Vec<MessageDescriptor>,
    enums: Vec<EnumDescriptor>,
}

impl<'a> Schemas<'a> {
    /// No schemas yet.
    pub fn new(comments: &'a Comments) -> Self {
        Self {
            comments,
            written: BTreeMap::new(),
            messages: Vec::new(),
            enums: Vec::new(),
        }
    }

    /// The schema of `field`, with its comment.
    pub fn field(&mut self, field: &FieldDescriptor) -> Value {
        let schema = if field.is_map() {
            let value = match field.kind() {
                Kind::Message(entry) => self.kind(entry.map_entry_value_field().kind()),
                other => self.kind(other),
            };
            json!({"type": "object", "additionalProperties": value})
        } else if field.is_list() {
            json!({"type": "array", "items": self.kind(field.kind())})
        } else {
            self.kind(field.kind())
        };
        let comment = self
            .comments
            .of(field.parent_file().name(), field.path())
            .map(str::to_owned);
        described(schema, comment)
    }

    /// The schema of a value of `kind`.
    pub fn kind(&mut self, kind: Kind) -> Value {
        match kind {
            Kind::Double | Kind::Float => json!({"type": "number"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "string", "format": "int64"})
            }
            Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64"}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "format": "byte"}),
            Kind::Enum(e) => {
                let name = e.full_name().to_owned();
                if !self.written.contains_key(&name) && !self.enums.contains(&e) {
                    self.enums.push(e);
                }
                reference(&name)
            }
            Kind::Message(m) => well_known(m.full_name()).unwrap_or_else(|| self.message(m)),
        }
    }

    /// A reference to the component of `message`, written later.
    pub fn message(&mut self, message: MessageDescriptor) -> Value {
        let name = message.full_name().to_owned();
        if !self.written.contains_key(&name) && !self.messages.contains(&message) {
            self.messages.push(message);
        }
        reference(&name)
    }

    /// An object schema of `message`'s fields, less those `skip` says.
    pub fn object(
        &mut self,
        message: &MessageDescriptor,
        skip: impl Fn(&FieldDescriptor) -> bool,
    ) -> Value {
        let mut properties = Map::new();
        for field in message.fields().filter(|f| !skip(f)) {
            properties.insert(field.json_name().to_owned(), self.field(&field));
        }
        json!({"type": "object", "properties": properties, "additionalProperties": false})
    }

    /// Writes every component referred to so far and returns them by name.
    pub fn finish(mut self) -> Map<String, Value> {
        loop {
            if let Some(message) = self.messages.pop() {
                let name = message.full_name().to_owned();
                if self.written.contains_key(&name) {
                    continue;
                }
                // Placed first, so a message that contains itself is not queued again.
                self.written.insert(name.clone(), Value::Null);
                let schema = self.object(&message, |_| false);
                let comment = self.describe(message.parent_file().name(), message.path());
                self.written.insert(name, described(schema, comment));
            } else if let Some(e) = self.enums.pop() {
                let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
                let schema = json!({"type": "string", "enum": names});
                let comment = self.describe(e.parent_file().name(), e.path());
                self.written
                    .insert(e.full_name().to_owned(), described(schema, comment));
            } else {
                return self.written.into_iter().collect();
            }
        }
    }

    fn describe(&self, file: &str, path: &[i32]) -> Option<String> {
        self.comments.of(file, path).map(str::to_owned)
    }
}

/// `schema` with `description`; a reference is wrapped, as siblings of `$ref` are ignored.
pub fn described(schema: Value, description: Option<String>) -> Value {
    let Some(description) = description else {
        return schema;
    };
    match schema {
        Value::Object(mut fields) if !fields.contains_key("$ref") => {
            fields.insert("description".to_owned(), Value::String(description));
            Value::Object(fields)
        }
        other => json!({"allOf": [other], "description": description}),
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The JSON forms of the well-known types.
fn well_known(name: &str) -> Option<Value> {
    Some(match name {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})
        }
        "google.protobuf.FieldMask" => {
            json!({"type": "string", "description": "Field paths, comma-separated."})
        }
        "google.protobuf.Struct" => json!({"type": "object", "additionalProperties": true}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array", "items": {}}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "required": ["@type"],
            "properties": {"@type": {"type": "string"}},
            "additionalProperties": true,
        }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!({"type": "number"}),
        "google.protobuf.Int64Value" => json!({"type": "string", "format": "int64"}),
        "google.protobuf.UInt64Value" => json!({"type": "string", "format": "uint64"}),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => {
            json!({"type": "integer"})
        }
        "google.protobuf.BoolValue" => json!({"type": "boolean"}),
        "google.protobuf.StringValue" => json!({"type": "string"}),
        "google.protobuf.BytesValue" => json!({"type": "string", "format": "byte"}),
        _ => return None,
    })
}
