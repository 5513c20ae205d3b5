//! Errors as HTTP answers: the gRPC status mapped to an HTTP status as google.rpc's `Code`
//! documents it, with a JSON body `{"code", "message", "details"}` carrying the status's
//! google.rpc details rendered as JSON (each with its `@type`).

use std::collections::HashMap;

use http::StatusCode;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A failed call: the status, and the HTTP status when it is not the status code's own (a body
/// too large is 413, a wrong method 405).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub status: Status,
    /// The HTTP status, when it differs from the code's mapping.
    pub http: Option<StatusCode>,
    /// The methods the path takes, for a 405's `Allow` header.
    pub allow: Option<String>,
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure {
            status,
            http: None,
            allow: None,
        }
    }
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Status::from(e).into()
    }
}

impl Failure {
    /// A status of the gateway's own, with an `ErrorInfo` of `reason` as every status has.
    pub fn new(code: Code, reason: &str, message: impl Into<String>) -> Self {
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, crate::error::DOMAIN, HashMap::new());
        Status::with_error_details(code, message, details).into()
    }

    /// The same, answered with `http` rather than the code's HTTP status.
    pub fn with_http(mut self, http: StatusCode) -> Self {
        self.http = Some(http);
        self
    }

    /// The same, with the methods the path takes.
    pub fn with_allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }

    /// The HTTP status of this failure.
    pub fn http_status(&self) -> StatusCode {
        self.http.unwrap_or_else(|| http_status(self.status.code()))
    }

    /// The JSON body of this failure, details decoded with `pool`.
    pub fn body(&self, pool: &DescriptorPool) -> Value {
        json!({
            "code": self.status.code() as i32,
            "message": self.status.message(),
            "details": details(pool, &self.status),
        })
    }
}

/// The HTTP status of a gRPC code (google/rpc/code.proto).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The details of `status` as JSON objects; one whose type the pool does not know keeps its
/// type URL and its bytes in base64, as the JSON mapping of `Any` has it for unknown types.
fn details(pool: &DescriptorPool, status: &Status) -> Vec<Value> {
    let Ok(decoded) = tonic_types::pb::Status::decode(status.details()) else {
        return Vec::new();
    };
    decoded
        .details
        .into_iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or_default();
            let rendered = pool
                .get_message_by_name(name)
                .and_then(|desc| DynamicMessage::decode(desc, any.value.as_slice()).ok())
                .and_then(|message| serde_json::to_value(&message).ok());
            match rendered {
                Some(Value::Object(mut fields)) => {
                    fields.insert("@type".to_owned(), Value::String(any.type_url));
                    Value::Object(fields)
                }
                _ => {
                    use base64::Engine as _;
                    json!({
                        "@type": any.type_url,
                        "value": base64::engine::general_purpose::STANDARD.encode(&any.value),
                    })
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_google_rpc_documents() {
        for (code, http) in [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::Aborted, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Internal, 500),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ] {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }

    #[test]
    fn details_render_with_their_type() {
        let pool = super::super::descriptors::pool().expect("descriptors");
        let failure = Failure::from(crate::Error::invalid("customer.display_name", "is empty"));
        let body = failure.body(&pool);
        assert_eq!(body["code"], 3);
        let details = body["details"].as_array().expect("details");
        let bad = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .expect("a BadRequest");
        assert_eq!(
            bad["fieldViolations"][0]["field"], "customer.display_name",
            "{body}"
        );
        assert!(
            details
                .iter()
                .any(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
        );
    }
}
