//! A request as the gateway receives it (path variables, query string, JSON body) turned into
//! the gRPC request message, and the reply message turned into JSON, both by the proto3 JSON
//! mapping. Every caller mistake is INVALID_ARGUMENT naming the field.

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions,
};
use serde_json::{Map, Value};

use super::{
    fields,
    routes::{BodyRule, Route},
};
use crate::Error;

/// The request message of `route` from its path variables, query string and body.
pub fn request(
    route: &Route,
    vars: &[(String, String)],
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, Error> {
    let input = route.rpc.input();
    let mut root = Map::new();
    let body = parse_body(body)?;
    match (&route.body, body) {
        (BodyRule::None, Some(_)) => {
            return Err(Error::invalid("body", "this method takes no body"));
        }
        (BodyRule::Whole, Some(Value::Object(fields))) => root = fields,
        (BodyRule::Whole, Some(_)) => {
            return Err(Error::invalid("body", "must be a JSON object"));
        }
        (BodyRule::Field(field), Some(value)) => {
            root.insert(field.json_name().to_owned(), value);
        }
        (_, None) => {}
    }
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let path = query_field(route, &input, &key)?;
        let value = query_value(&key, &path, &value)?;
        insert(&mut root, &path, value, true);
    }
    for ((_, value), path) in vars.iter().zip(&route.path_fields) {
        insert(&mut root, path, Value::String(value.clone()), false);
    }
    message(input, Value::Object(root))
}

/// `message` as proto3 JSON: lowerCamelCase names, 64-bit integers as strings, enums by name,
/// fields at their default left out.
pub fn reply(message: &DynamicMessage) -> Result<Vec<u8>, Error> {
    let mut out = serde_json::Serializer::new(Vec::new());
    message
        .serialize_with_options(&mut out, &SerializeOptions::new())
        .map_err(Error::internal)?;
    Ok(out.into_inner())
}

/// The body as JSON; `None` when there is none (empty or only whitespace).
fn parse_body(body: &[u8]) -> Result<Option<Value>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| Error::invalid("body", format!("is not JSON: {e}")))
}

/// A message of type `desc` from `value`; an error names the field at fault by its JSON path.
fn message(desc: MessageDescriptor, value: Value) -> Result<DynamicMessage, Error> {
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(value, &mut track);
    DynamicMessage::deserialize_with_options(desc, de, &DeserializeOptions::new()).map_err(|e| {
        let path = track.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        Error::invalid(field, e.to_string())
    })
}

/// The fields a query parameter names; refused when the body holds them.
fn query_field(
    route: &Route,
    input: &MessageDescriptor,
    key: &str,
) -> Result<Vec<FieldDescriptor>, Error> {
    let path = fields::resolve(input, key).map_err(|e| Error::invalid(key, e))?;
    let from_body = match &route.body {
        BodyRule::Whole => true,
        BodyRule::Field(field) => path.first() == Some(field),
        BodyRule::None => false,
    };
    if from_body {
        return Err(Error::invalid(key, "is read from the body, not the query"));
    }
    Ok(path)
}

/// A query parameter's text as the JSON the field's type takes.
fn query_value(key: &str, path: &[FieldDescriptor], text: &str) -> Result<Value, Error> {
    let field = path
        .last()
        .ok_or_else(|| Error::invalid(key, "names no field"))?;
    if field.is_map() {
        return Err(Error::invalid(key, "a map cannot be given in the query"));
    }
    match field.kind() {
        Kind::Bool => boolean(key, text),
        Kind::Enum(_) => Ok(text
            .parse::<i64>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::from)),
        Kind::Message(m) if m.full_name() == "google.protobuf.BoolValue" => boolean(key, text),
        Kind::Message(m) if !fields::is_scalar_message(&m) => Err(Error::invalid(
            key,
            "is a message: give its fields (field.subfield=value)",
        )),
        // Numbers as strings are valid proto3 JSON, and keep 64-bit values exact.
        _ => Ok(Value::String(text.to_owned())),
    }
}

fn boolean(key: &str, text: &str) -> Result<Value, Error> {
    match text {
        "true" | "1" => Ok(Value::Bool(true)),
        "false" | "0" => Ok(Value::Bool(false)),
        _ => Err(Error::invalid(key, "must be true or false")),
    }
}

/// Sets `value` at `path` in `root` (appends it to a repeated field when `append`), creating
/// the objects on the way. A field given by its proto name is replaced by its JSON name.
fn insert(root: &mut Map<String, Value>, path: &[FieldDescriptor], value: Value, append: bool) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = root;
    for field in parents {
        let existing = take(current, field);
        let slot = current
            .entry(field.json_name().to_owned())
            .or_insert(existing.unwrap_or_else(|| Value::Object(Map::new())));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            return;
        };
        current = next;
    }
    let existing = take(current, last);
    let value = match (append && last.is_list(), existing) {
        (true, Some(Value::Array(mut items))) => {
            items.push(value);
            Value::Array(items)
        }
        (true, _) => Value::Array(vec![value]),
        (false, _) => value,
    };
    current.insert(last.json_name().to_owned(), value);
}

/// Removes and returns `field` from `object`, under either of its names.
fn take(object: &mut Map<String, Value>, field: &FieldDescriptor) -> Option<Value> {
    let json = object.remove(field.json_name());
    let proto = object.remove(field.name());
    json.or(proto)
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use super::super::{
        descriptors,
        routes::{Lookup, RouteTable},
    };
    use super::*;

    fn call(method: Method, path_and_query: &str, body: &str) -> Result<Value, Error> {
        let pool = descriptors::pool().expect("descriptors");
        let table = RouteTable::build(
            &pool,
            &[
                "rapport.customers.v1.CustomerService",
                "rapport.leads.v1.LeadAnalyticsService",
            ],
        )
        .expect("routes");
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let Lookup::Found(route, vars) = table.lookup(&method, path) else {
            panic!("no route for {path}");
        };
        let message = request(route, &vars, query, body.as_bytes())?;
        Ok(serde_json::from_slice(&reply(&message).expect("renders")).expect("JSON"))
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidArgument(v) => v[0].field.clone(),
            other => panic!("not INVALID_ARGUMENT: {other:?}"),
        }
    }

    #[test]
    fn path_variables_fill_their_fields() {
        assert_eq!(
            call(Method::GET, "/v1/customers/c1", "").expect("ok"),
            json!({"name": "customers/c1"})
        );
        assert_eq!(
            call(
                Method::PATCH,
                "/v1/customers/c1?updateMask=displayName,tags",
                r#"{"displayName": "Acme", "name": "customers/other"}"#
            )
            .expect("ok"),
            json!({
                "customer": {"name": "customers/c1", "displayName": "Acme"},
                "updateMask": "displayName,tags"
            })
        );
    }

    #[test]
    fn query_parameters_take_nested_and_repeated_fields() {
        assert_eq!(
            call(
                Method::GET,
                "/v1/customers?pageSize=20&filter=tags%3Avip&show_deleted=true",
                ""
            )
            .expect("ok"),
            json!({"pageSize": 20, "filter": "tags:vip", "showDeleted": true})
        );
        assert_eq!(
            call(
                Method::GET,
                "/v1/leads:funnel?groupBy=GROUP_BY_SOURCE&startTime=2030-01-01T00:00:00Z",
                ""
            )
            .expect("ok")["startTime"],
            "2030-01-01T00:00:00Z"
        );
    }

    #[test]
    fn whole_bodies_and_field_bodies() {
        assert_eq!(
            call(
                Method::POST,
                "/v1/customers",
                r#"{"displayName": "A", "tags": ["x"]}"#
            )
            .expect("ok"),
            json!({"customer": {"displayName": "A", "tags": ["x"]}})
        );
        assert_eq!(
            call(
                Method::POST,
                "/v1/customers/c1:merge",
                r#"{"merged": ["customers/c2"], "requestId": "r1"}"#
            )
            .expect("ok"),
            json!({"survivor": "customers/c1", "merged": ["customers/c2"], "requestId": "r1"})
        );
        assert_eq!(
            call(Method::POST, "/v1/customers/c1:undelete", "").expect("ok"),
            json!({"name": "customers/c1"})
        );
    }

    #[test]
    fn mistakes_name_the_field() {
        let wrong_type = call(Method::POST, "/v1/customers", r#"{"tags": "vip"}"#).unwrap_err();
        assert_eq!(field_of(wrong_type), "customer.tags");
        let unknown = call(Method::POST, "/v1/customers", r#"{"nope": 1}"#).unwrap_err();
        assert_eq!(field_of(unknown), "customer");
        let bad_enum = call(Method::POST, "/v1/customers", r#"{"kind": "ALIEN"}"#).unwrap_err();
        assert_eq!(field_of(bad_enum), "customer.kind");
        let not_json = call(Method::POST, "/v1/customers", "{").unwrap_err();
        assert_eq!(field_of(not_json), "body");
        let query = call(Method::GET, "/v1/customers?pageSize=ten", "").unwrap_err();
        assert_eq!(field_of(query), "pageSize");
        let unknown_query = call(Method::GET, "/v1/customers?nope=1", "").unwrap_err();
        assert_eq!(field_of(unknown_query), "nope");
        let body_on_get = call(Method::GET, "/v1/customers", "{}").unwrap_err();
        assert_eq!(field_of(body_on_get), "body");
        let bool_query = call(Method::GET, "/v1/customers?showDeleted=yes", "").unwrap_err();
        assert_eq!(field_of(bool_query), "showDeleted");
    }
}
