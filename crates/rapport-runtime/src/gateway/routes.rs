//! The route table: one route per `google.api.http` binding of a unary method this process
//! serves, and the lookup of a request's method and path.

use http::Method;
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MethodDescriptor};
use rapport_proto::google::api::{HttpRule, http_rule::Pattern};

use super::{fields, template::PathTemplate};

/// Where a request's JSON body goes.
#[derive(Debug, Clone)]
pub enum BodyRule {
    /// No body: every field not in the path comes from the query string.
    None,
    /// `body: "*"`: the body is the request message, less the fields in the path.
    Whole,
    /// `body: "<field>"`: the body is that field; the rest comes from the path and the query.
    Field(FieldDescriptor),
}

/// One HTTP binding of a method.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template as written in the proto.
    pub pattern: String,
    /// The parsed template.
    pub template: PathTemplate,
    /// The gRPC method called.
    pub rpc: MethodDescriptor,
    /// `/package.Service/Method`.
    pub grpc_path: String,
    /// Where the body goes.
    pub body: BodyRule,
    /// The request fields the path fills, each a dotted path of fields.
    pub path_fields: Vec<Vec<FieldDescriptor>>,
}

/// What a request's method and path found.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// A route, with its path variables (field path, value).
    Found(&'a Route, Vec<(String, String)>),
    /// The path exists, for these other methods only.
    WrongMethod(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Every route of the services served.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// The routes of the gRPC services named in `served` (full names), from their methods'
    /// `google.api.http` options. Streaming methods have no HTTP binding.
    pub fn build(pool: &DescriptorPool, served: &[&str]) -> Result<Self, String> {
        let Some(http) = pool.get_extension_by_name("google.api.http") else {
            return Ok(Self::default());
        };
        let mut routes = Vec::new();
        for service in pool
            .services()
            .filter(|s| served.iter().any(|name| *name == s.full_name()))
        {
            for rpc in service.methods() {
                if rpc.is_client_streaming() || rpc.is_server_streaming() {
                    continue;
                }
                let options = rpc.options();
                if !options.has_extension(&http) {
                    continue;
                }
                let rule: HttpRule = match options.get_extension(&http).as_message() {
                    Some(m) => m
                        .transcode_to()
                        .map_err(|e| format!("{}: {e}", rpc.full_name()))?,
                    None => continue,
                };
                let bindings = rule.additional_bindings.clone();
                for binding in std::iter::once(rule).chain(bindings) {
                    routes.push(
                        route(&rpc, &binding).map_err(|e| format!("{}: {e}", rpc.full_name()))?,
                    );
                }
            }
        }
        Ok(Self { routes })
    }

    /// Every route, in the order of the services and their methods.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for `method` and `path` (the most specific when several match).
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let mut best: Option<(&Route, Vec<(String, String)>)> = None;
        let mut others = Vec::new();
        for route in &self.routes {
            let Some(vars) = route.template.matches(path) else {
                continue;
            };
            if route.method != *method {
                if !others.contains(&route.method) {
                    others.push(route.method.clone());
                }
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(b, _)| route.template.specificity() > b.template.specificity())
            {
                best = Some((route, vars));
            }
        }
        match best {
            Some((route, vars)) => Lookup::Found(route, vars),
            None if others.is_empty() => Lookup::NotFound,
            None => Lookup::WrongMethod(others),
        }
    }
}

fn route(rpc: &MethodDescriptor, rule: &HttpRule) -> Result<Route, String> {
    let (method, pattern) = match rule.pattern.as_ref() {
        Some(Pattern::Get(p)) => (Method::GET, p),
        Some(Pattern::Put(p)) => (Method::PUT, p),
        Some(Pattern::Post(p)) => (Method::POST, p),
        Some(Pattern::Delete(p)) => (Method::DELETE, p),
        Some(Pattern::Patch(p)) => (Method::PATCH, p),
        Some(Pattern::Custom(c)) => (
            Method::from_bytes(c.kind.as_bytes()).map_err(|e| format!("{}: {e}", c.kind))?,
            &c.path,
        ),
        None => return Err("an http rule without a pattern".to_owned()),
    };
    let template = PathTemplate::parse(pattern)?;
    let input = rpc.input();
    let mut path_fields = Vec::new();
    for var in &template.variables {
        let path = fields::resolve(&input, &var.field)?;
        let last = path.last().ok_or("an empty field path")?;
        if fields::is_repeated(last) || !matches!(last.kind(), Kind::String) {
            return Err(format!("{pattern}: {} is not a string field", var.field));
        }
        path_fields.push(path);
    }
    let body = match rule.body.as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => BodyRule::Field(
            input
                .get_field_by_name(name)
                .ok_or_else(|| format!("body: {} has no field {name}", input.name()))?,
        ),
    };
    if matches!(method, Method::GET | Method::DELETE) && !matches!(body, BodyRule::None) {
        return Err(format!("{pattern}: {method} takes no body"));
    }
    let service = rpc.parent_service();
    Ok(Route {
        method,
        pattern: pattern.clone(),
        template,
        grpc_path: format!("/{}/{}", service.full_name(), rpc.name()),
        rpc: rpc.clone(),
        body,
        path_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_of(pool: &DescriptorPool) -> RouteTable {
        let names: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
        let served: Vec<&str> = names.iter().map(String::as_str).collect();
        RouteTable::build(pool, &served).expect("every http rule is valid")
    }

    fn table() -> RouteTable {
        table_of(&super::super::descriptors::pool().expect("descriptors"))
    }

    #[test]
    fn every_unary_method_of_the_services_has_a_route() {
        let pool = super::super::descriptors::pool().expect("descriptors");
        let table = table_of(&pool);
        for service in pool.services() {
            if !service.full_name().starts_with("rapport.")
                || service.full_name().starts_with("rapport.access.")
            {
                continue;
            }
            for rpc in service.methods() {
                let routed = table.routes().iter().any(|r| r.rpc == rpc);
                let streaming = rpc.is_client_streaming() || rpc.is_server_streaming();
                assert_eq!(routed, !streaming, "{}", rpc.full_name());
            }
        }
    }

    #[test]
    fn lookups_find_the_most_specific_route() {
        let table = table();
        let found = |method: Method, path: &str| match table.lookup(&method, path) {
            Lookup::Found(route, vars) => (route.rpc.name().to_owned(), vars),
            other => panic!("{method} {path}: {other:?}"),
        };
        assert_eq!(
            found(Method::GET, "/v1/customers/c1"),
            (
                "GetCustomer".to_owned(),
                vec![("name".to_owned(), "customers/c1".to_owned())]
            )
        );
        assert_eq!(found(Method::GET, "/v1/customers").0, "ListCustomers");
        assert_eq!(found(Method::POST, "/v1/leads/l1:assign").0, "AssignLead");
        assert_eq!(found(Method::GET, "/v1/leads:funnel").0, "GetFunnel");
        assert_eq!(
            found(Method::PATCH, "/v1/customers/c1").1,
            vec![("customer.name".to_owned(), "customers/c1".to_owned())]
        );
        assert!(matches!(
            table.lookup(&Method::PUT, "/v1/customers/c1"),
            Lookup::WrongMethod(m) if m.contains(&Method::GET) && m.contains(&Method::PATCH)
        ));
        assert!(matches!(
            table.lookup(&Method::GET, "/v2/customers"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn only_served_services_are_routed() {
        let pool = super::super::descriptors::pool().expect("descriptors");
        let table =
            RouteTable::build(&pool, &["rapport.customers.v1.CustomerService"]).expect("builds");
        assert!(!table.routes().is_empty());
        assert!(table.routes().iter().all(|r| {
            r.grpc_path
                .starts_with("/rapport.customers.v1.CustomerService/")
        }));
        assert!(matches!(
            table.lookup(&Method::GET, "/v1/leads/l1"),
            Lookup::NotFound
        ));
    }
}
