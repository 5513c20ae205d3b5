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
    #[error("{message}")]
    Unavailable {
        /// What is unavailable, in a sentence the caller may read.
        message: String,
        /// The failure behind it, logged with its whole chain, never sent.
        #[source]
        source: Option<Cause>,
    },
    /// A bug or an unexpected failure; it is logged with its whole chain, never sent to the
    /// client.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// The failure behind an INTERNAL or UNAVAILABLE, kept whole so the log shows its chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `e` and every error behind it, joined by `: `; a cause whose text its error already
/// quotes is not repeated.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        next = cause.source();
    }
    text
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

    /// INTERNAL from an error (kept with its sources) or a message; the detail is logged,
    /// not returned.
    pub fn internal(e: impl Into<Cause>) -> Self {
        Error::Internal(e.into())
    }

    /// UNAVAILABLE, saying what is.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable {
            message: message.into(),
            source: None,
        }
    }

    /// UNAVAILABLE, saying what is, because of `source`.
    pub fn unavailable_from(message: impl Into<String>, source: impl Into<Cause>) -> Self {
        Error::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
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
            Error::Unavailable { .. } => Code::Unavailable,
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
            Error::Unavailable { .. } => "UNAVAILABLE",
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
                Error::unavailable_from("the database is unavailable", e)
            }
            _ => Error::Internal(Box::new(e)),
        }
    }
}

/// Longest message a status carries, in characters. Error texts echo what the caller sent (a
/// name, a field's value); a default client refuses response headers beyond 16 KiB, so an
/// unbounded echo would turn a clear answer into RESOURCE_EXHAUSTED on the caller's side.
const MAX_MESSAGE_CHARS: usize = 300;
/// Longest field path and description of one violation, in characters.
const MAX_FIELD_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Longest resource name echoed in details.
const MAX_NAME_CHARS: usize = 200;
/// Bytes of violations listed before the rest are summed up in one.
const VIOLATION_BUDGET: usize = 5_000;

/// `text`, cut to `max` characters with an ellipsis.
pub fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let mut metadata = HashMap::new();
        let message = match &e {
            Error::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "internal error");
                "internal error".to_owned()
            }
            Error::Unavailable {
                message,
                source: Some(cause),
            } => {
                tracing::warn!(error = %chain(cause.as_ref()), "{message}");
                cap(message, MAX_MESSAGE_CHARS)
            }
            other => cap(&other.to_string(), MAX_MESSAGE_CHARS),
        };
        let mut details = ErrorDetails::new();
        match &e {
            Error::InvalidArgument(violations) | Error::BadRequest { violations, .. } => {
                let mut spent = 0;
                for (i, v) in violations.iter().enumerate() {
                    if spent > VIOLATION_BUDGET {
                        details.add_bad_request_violation(
                            "",
                            format!("and {} more bad fields", violations.len() - i),
                        );
                        break;
                    }
                    let field = cap(&v.field, MAX_FIELD_CHARS);
                    let description = cap(&v.description, MAX_DESCRIPTION_CHARS);
                    spent += field.len() + description.len();
                    details.add_bad_request_violation(field, description);
                }
            }
            Error::NotFound(name) => {
                let name = cap(name, MAX_NAME_CHARS);
                metadata.insert("resource".to_owned(), name.clone());
                details.set_resource_info("", name, "", "");
            }
            Error::AlreadyExists {
                existing,
                metadata: more,
                ..
            } => {
                let existing = cap(existing, MAX_NAME_CHARS);
                if !existing.is_empty() {
                    metadata.insert("existing".to_owned(), existing.clone());
                }
                metadata.extend(
                    more.iter()
                        .map(|(k, v)| ((*k).to_owned(), cap(v, MAX_NAME_CHARS))),
                );
                let owner = metadata.get("owner_id").cloned().unwrap_or_default();
                details.set_resource_info("", existing, owner, message.clone());
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
    fn echoed_input_is_capped() {
        let long = format!("customers/{}", "a".repeat(10_000));
        let status: Status = Error::not_found(&long).into();
        assert!(status.message().chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert!(status.details().len() < 2_000, "{}", status.details().len());

        let many: Vec<FieldViolation> = (0..500)
            .map(|i| FieldViolation {
                field: format!("customer.phones[{i}].number"),
                description: format!("{:?} is not a phone number", "9".repeat(5_000)),
            })
            .collect();
        let status: Status = Error::InvalidArgument(many).into();
        assert!(status.details().len() < 8_000, "{}", status.details().len());
        let listed = status.get_error_details();
        let listed = &listed.bad_request().expect("bad request").field_violations;
        assert!(
            listed
                .last()
                .expect("some")
                .description
                .contains("more bad fields")
        );
        assert_eq!(cap("张伟伟", 2), "张伟…");
        assert_eq!(cap("ab", 2), "ab");
    }

    #[test]
    fn a_cause_keeps_its_chain() {
        let e = Error::internal(sqlx::Error::Io(std::io::Error::other("disk full")));
        assert!(chain(&e).contains("disk full"), "{}", chain(&e));
        let e = Error::unavailable_from(
            "the database is unavailable",
            std::io::Error::other("reset"),
        );
        assert_eq!(e.to_string(), "the database is unavailable");
        assert!(chain(&e).ends_with("reset"), "{}", chain(&e));
    }

    #[test]
    fn internal_hides_its_detail() {
        let status: Status = Error::internal("syntax error at SELECT").into();
        assert_eq!(status.message(), "internal error");
    }
}
