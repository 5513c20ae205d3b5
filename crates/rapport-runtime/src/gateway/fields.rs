//! Dotted field paths (`customer.name`, `startDate.year`) resolved against a message type, by
//! proto name or JSON name as the proto3 JSON mapping accepts either.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

/// The fields along `dotted`, from `message` down; names the first part that is not a field.
pub fn resolve(message: &MessageDescriptor, dotted: &str) -> Result<Vec<FieldDescriptor>, String> {
    let mut current = message.clone();
    let mut out = Vec::new();
    for part in dotted.split('.') {
        let field = current
            .get_field_by_name(part)
            .or_else(|| current.get_field_by_json_name(part))
            .ok_or_else(|| format!("{} has no field {part}", current.name()))?;
        if out.last().is_some_and(is_repeated) {
            return Err(format!("{dotted}: a repeated field has no single subfield"));
        }
        if let Kind::Message(m) = field.kind() {
            current = m;
        }
        out.push(field);
    }
    Ok(out)
}

/// The JSON names along `path`, dotted.
pub fn json_path(path: &[FieldDescriptor]) -> String {
    path.iter()
        .map(FieldDescriptor::json_name)
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether `field` holds many values (a list or a map).
pub fn is_repeated(field: &FieldDescriptor) -> bool {
    field.is_list() || field.is_map()
}

/// The well-known types the JSON mapping writes as one string (or number, or boolean) rather
/// than an object.
pub fn is_scalar_message(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}
