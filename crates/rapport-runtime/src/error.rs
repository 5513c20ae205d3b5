//! The one error type of every service, and its mapping to `tonic::Status` with google.rpc
//! details: every status carries an `ErrorInfo` (stable reason, domain `rapport`), validation
//! errors a `BadRequest` listing every bad field.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::validation::FieldViolation;

/// The error domain in every `ErrorInfo`.
pub const DOMAIN: &str = "rapport";

/// What can go wrong in a Rapport call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more request fields are bad.
    #[error("invalid request: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The request is refused for a reason of its own (e.g. `REQUEST_ID_REUSED`), naming the
    /// fields at fault: INVALID_ARGUMENT, with that reason instead of the generic one.
    #[error("invalid request: {}", join(.violations))]
    BadRequest {
        /// Stable reason.
        reason: &'static str,
        /// The fields at fault.
        violations: Vec<FieldViolation>,
    },
    /// The resource does not exist for this caller (also another tenant's resource).
    #[error("{0} not found")]
    NotFound(String),
    /// The resource exists already; `existing` names it.
    #[error("{message}")]
    AlreadyExists {
        /// Stable reason, e.g. `DUPLICATE_CUSTOMER`.
        reason: &'static str,
        /// What exists, in a sentence.
        message: String,
        /// Resource name of the existing resource; empty when the caller may not learn it.
        existing: String,
        /// More about it, as `ErrorInfo` metadata (who holds it, say).
        metadata: Vec<(&'static str, String)>,
    },
    /// The resource is in the wrong state for this call.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable reason, e.g. `CUSTOMER_DELETED`.
        reason: &'static str,
        /// What is wrong, in a sentence.
        message: String,
    },
    /// A stale etag or a lost race; the caller should re-read and retry.
    #[error("{message}")]
    Aborted {
        /// Stable reason, e.g. `ETAG_MISMATCH`.
        reason: &'static str,
        /// What happened, in a sentence.
        message: String,
    },
    /// A capacity or rate limit was hit.
    #[error("{message}")]
    ResourceExhausted {
        /// Stable reason.
        reason: &'static str,
        /// Which limit, in a sentence.
        message: String,
    },
    /// No credential, or a bad one.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (database, peer service) is down.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the message is logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(v: &[FieldViolation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Shorthand for results of service code.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A single bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// NOT_FOUND for a resource name.
    pub fn not_found(name: impl Into<String>) -> Self {
        Error::NotFound(name.into())
    }

    /// FAILED_PRECONDITION with a reason.
    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
        }
    }

    /// ABORTED for a stale etag.
    pub fn stale_etag(name: &str) -> Self {
        Error::Aborted {
            reason: "ETAG_MISMATCH",
            message: format!("{name} was changed by someone else; read it again and retry"),
        }
    }

    /// INTERNAL from anything displayable; the detail is logged, not returned.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// The gRPC code of this error.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) | Error::BadRequest { .. } => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::Aborted { .. } => Code::Aborted,
            Error::ResourceExhausted { .. } => Code::ResourceExhausted,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }

    /// The stable UPPER_SNAKE reason of this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::NotFound(_) => "NOT_FOUND",
            Error::BadRequest { reason, .. }
            | Error::AlreadyExists { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::Aborted { reason, .. }
            | Error::ResourceExhausted { reason, .. } => reason,
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::PermissionDenied(_) => "PERMISSION_DENIED",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::Internal(_) => "INTERNAL",
        }
    }
}

/// Both results, or every violation of both: a request's fields parsed separately are reported
/// in one INVALID_ARGUMENT.
pub fn both<A, B>(a: Result<A, Error>, b: Result<B, Error>) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(Error::InvalidArgument(mut x)), Err(Error::InvalidArgument(y))) => {
            x.extend(y);
            Err(Error::InvalidArgument(x))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

impl From<Vec<FieldViolation>> for Error {
    fn from(v: Vec<FieldViolation>) -> Self {
        Error::InvalidArgument(v)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Error::Unavailable("the database is unavailable".into())
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let mut metadata = HashMap::new();
        let message = match &e {
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut details = ErrorDetails::new();
        match &e {
            Error::InvalidArgument(violations) | Error::BadRequest { violations, .. } => {
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
            }
            Error::NotFound(name) => {
                metadata.insert("resource".to_owned(), name.clone());
                details.set_resource_info("", name.clone(), "", "");
            }
            Error::AlreadyExists {
                existing,
                metadata: more,
                ..
            } => {
                if !existing.is_empty() {
                    metadata.insert("existing".to_owned(), existing.clone());
                }
                metadata.extend(more.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
                let owner = more
                    .iter()
                    .find(|(k, _)| *k == "owner_id")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                details.set_resource_info("", existing.clone(), owner, message.clone());
            }
            _ => {}
        }
        details.set_error_info(e.reason(), DOMAIN, metadata);
        Status::with_error_details(e.code(), message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_lists_every_field() {
        let e = Error::InvalidArgument(vec![
            FieldViolation {
                field: "a".into(),
                description: "is required".into(),
            },
            FieldViolation {
                field: "b".into(),
                description: "is too long".into(),
            },
        ]);
        let status: Status = e.into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .expect("bad request")
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, ["a", "b"]);
        assert_eq!(details.error_info().expect("info").domain, DOMAIN);
    }

    #[test]
    fn internal_hides_its_detail() {
        let status: Status = Error::internal("syntax error at SELECT").into();
        assert_eq!(status.message(), "internal error");
    }
}
