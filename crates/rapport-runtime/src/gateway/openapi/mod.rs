//! The OpenAPI 3.0 document of the routes served, generated from the descriptors: one
//! operation per route with its path and query parameters, request body and reply schema, the
//! error schema every failure answers with, bearer authentication, and the protos' comments as
//! descriptions.

mod comments;
mod schema;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::{
    fields,
    routes::{BodyRule, Route, RouteTable},
    template::Segment,
};
use comments::Comments;
use schema::{Schemas, described};

/// Nested messages are offered as query parameters down to this depth.
const QUERY_DEPTH: usize = 3;

/// The document of `routes`.
pub fn document(pool: &DescriptorPool, routes: &RouteTable) -> Value {
    let comments = Comments::new(pool);
    let mut schemas = Schemas::new(&comments);
    let mut paths = Map::new();
    let mut tags: Vec<Value> = Vec::new();
    for (i, route) in routes.routes().iter().enumerate() {
        let service = route.rpc.parent_service();
        if !tags.iter().any(|t| t["name"] == service.name()) {
            let mut tag = json!({"name": service.name()});
            if let Some(text) = comments.of(service.parent_file().name(), service.path()) {
                tag["description"] = Value::String(text.to_owned());
            }
            tags.push(tag);
        }
        let first = routes.routes()[..i].iter().all(|r| r.rpc != route.rpc);
        let (path, mut parameters) = path_of(route);
        query_parameters(
            &mut schemas,
            route,
            &route.rpc.input(),
            "",
            QUERY_DEPTH,
            &mut parameters,
        );
        let mut operation = json!({
            "operationId": operation_id(route, first, i),
            "tags": [service.name()],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": format!("The {}.", route.rpc.output().name()),
                    "content": {"application/json": {"schema": schemas.message(route.rpc.output())}},
                },
                "default": {"$ref": "#/components/responses/Error"},
            },
        });
        if let Some(text) = comments.of(route.rpc.parent_file().name(), route.rpc.path()) {
            operation["summary"] = Value::String(summary(text));
            operation["description"] = Value::String(text.to_owned());
        }
        if let Some(body) = request_body(&mut schemas, route) {
            operation["requestBody"] = body;
        }
        let item = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    let mut components = schemas.finish();
    components.insert("Error".to_owned(), error_schema());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Rapport HTTP/JSON API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every call of the gRPC API that has an HTTP binding, as JSON \
                (the proto3 JSON mapping). Errors answer with the gRPC status's HTTP \
                equivalent and an Error body.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                "Error": {
                    "description": "The call failed: the gRPC status, its message and details.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"bearer": []}],
    })
}

/// `CustomerService_GetCustomer`; a method's further bindings are numbered.
fn operation_id(route: &Route, first: bool, index: usize) -> String {
    let id = format!("{}_{}", route.rpc.parent_service().name(), route.rpc.name());
    if first { id } else { format!("{id}_{index}") }
}

/// The first sentence of a comment.
fn summary(text: &str) -> String {
    let first = text.split("\n\n").next().unwrap_or(text);
    match first.find(". ") {
        Some(end) => first[..=end].to_owned(),
        None => first.to_owned(),
    }
}

/// The OpenAPI path of a route and its path parameters: each `*` of a variable becomes a
/// parameter named after the collection before it (`customers/*` → `{customer}`), as the
/// resource names of the protos are written.
fn path_of(route: &Route) -> (String, Vec<Value>) {
    let template = &route.template;
    let mut path = String::new();
    let mut parameters: Vec<Value> = Vec::new();
    let mut previous = "";
    for (i, segment) in template.segments.iter().enumerate() {
        path.push('/');
        let var = template
            .variables
            .iter()
            .find(|v| (v.start..v.end).contains(&i));
        match segment {
            Segment::Literal(lit) => {
                path.push_str(lit);
                previous = lit;
            }
            Segment::One | Segment::Rest => {
                let field = var.map_or("value", |v| v.field.as_str());
                let mut name = if previous.is_empty() || var.is_some_and(|v| v.start == i) {
                    field.replace('.', "_")
                } else {
                    singular(previous)
                };
                if parameters.iter().any(|p| p["name"] == name.as_str()) {
                    name = format!("{name}{i}");
                }
                path.push('{');
                path.push_str(&name);
                path.push('}');
                parameters.push(json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "description": format!("A segment of the resource name in `{field}` ({})", route.pattern),
                    "schema": {"type": "string", "minLength": 1},
                }));
                previous = "";
            }
        }
    }
    if let Some(verb) = &template.verb {
        path.push(':');
        path.push_str(verb);
    }
    (path, parameters)
}

/// `customers` → `customer`, `opportunities` → `opportunity`.
fn singular(collection: &str) -> String {
    if let Some(stem) = collection.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = collection.strip_suffix('s') {
        stem.to_owned()
    } else {
        format!("{collection}Id")
    }
}

/// Query parameters for the fields of `message` (at `prefix`) that neither the path nor the
/// body fills: scalars and lists of scalars, nested messages by their fields.
fn query_parameters(
    schemas: &mut Schemas<'_>,
    route: &Route,
    message: &MessageDescriptor,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Value>,
) {
    if matches!(route.body, BodyRule::Whole) {
        return;
    }
    for field in message.fields() {
        let name = format!("{prefix}{}", field.json_name());
        if in_path(route, &name) || is_body(route, &field, prefix) || field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::Message(m) if !fields::is_scalar_message(&m) => {
                if !field.is_list() && depth > 1 {
                    query_parameters(schemas, route, &m, &format!("{name}."), depth - 1, out);
                }
            }
            _ => {
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "schema": schemas.field(&field),
                });
                if field.is_list() {
                    parameter["style"] = json!("form");
                    parameter["explode"] = json!(true);
                }
                out.push(parameter);
            }
        }
    }
}

fn in_path(route: &Route, json_name: &str) -> bool {
    route
        .path_fields
        .iter()
        .any(|path| fields::json_path(path) == json_name)
}

fn is_body(route: &Route, field: &FieldDescriptor, prefix: &str) -> bool {
    matches!(&route.body, BodyRule::Field(body) if prefix.is_empty() && body == field)
}

/// The request body of a route that takes one.
fn request_body(schemas: &mut Schemas<'_>, route: &Route) -> Option<Value> {
    let (schema, required) = match &route.body {
        BodyRule::None => return None,
        BodyRule::Whole => {
            let schema = schemas.object(&route.rpc.input(), |f| in_path(route, f.json_name()));
            (schema, false)
        }
        BodyRule::Field(field) => (schemas.field(field), true),
    };
    Some(json!({
        "required": required,
        "content": {"application/json": {"schema": described(schema, None)}},
    }))
}

/// The body of every failure.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "A failed call: the gRPC status code (google.rpc.Code), a message, and \
            the google.rpc details (ErrorInfo, BadRequest, …), each with its @type.",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["@type"],
                    "properties": {"@type": {"type": "string"}},
                    "additionalProperties": true,
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::descriptors;
    use super::*;

    fn doc() -> Value {
        let pool = descriptors::pool().expect("descriptors");
        let names: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
        let served: Vec<&str> = names.iter().map(String::as_str).collect();
        document(&pool, &RouteTable::build(&pool, &served).expect("routes"))
    }

    #[test]
    fn operations_have_parameters_bodies_and_replies() {
        let doc = doc();
        let get = &doc["paths"]["/v1/customers/{customer}"]["get"];
        assert_eq!(get["operationId"], "CustomerService_GetCustomer");
        assert_eq!(get["parameters"][0]["name"], "customer");
        assert_eq!(
            get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/rapport.customers.v1.Customer"
        );
        assert!(get["description"].as_str().is_some_and(|d| !d.is_empty()));
        let list = &doc["paths"]["/v1/customers"]["get"];
        let names: Vec<&str> = list["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            names.contains(&"pageSize") && names.contains(&"filter"),
            "{names:?}"
        );
        let patch = &doc["paths"]["/v1/customers/{customer}"]["patch"];
        assert!(
            patch["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .any(|p| p["name"] == "updateMask")
        );
        assert!(
            doc["paths"]["/v1/orders/{order}/returns/{return}:approve"]["post"]["requestBody"]
                .is_object()
        );
        let funnel = &doc["paths"]["/v1/leads:funnel"]["get"]["parameters"];
        assert!(
            funnel
                .as_array()
                .expect("parameters")
                .iter()
                .any(|p| p["name"] == "startTime")
        );
    }

    #[test]
    fn schemas_follow_the_json_mapping() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let customer = &schemas["rapport.customers.v1.Customer"];
        assert_eq!(customer["properties"]["displayName"]["type"], "string");
        assert_eq!(customer["properties"]["createTime"]["format"], "date-time");
        assert!(
            schemas["rapport.customers.v1.CustomerKind"]["enum"]
                .as_array()
                .expect("enum")
                .contains(&json!("CUSTOMER_KIND_PERSON"))
        );
        assert!(schemas["Error"]["properties"]["details"].is_object());
        // Every reference resolves.
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name = part.split('"').next().expect("a name");
            assert!(
                schemas.get(name).is_some(),
                "{name} is referred to but missing"
            );
        }
    }
}
