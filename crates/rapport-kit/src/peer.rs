//! A peer service's error, read back: when a service calls another over gRPC, the answer's
//! `Status` carries the peer's `ErrorInfo`, `BadRequest` and `ResourceInfo` (see
//! `rapport_runtime::error`). [`Refusal::read`] decodes them once, so a caller decides on what
//! the peer meant instead of matching status codes by hand, and [`Refusal::into_error`] gives
//! the usual answer for the cases a caller does not handle itself.

use rapport_proto::customers::{self as cpb, customer_service_client::CustomerServiceClient};
use rapport_runtime::{Error, Result, peers::Peers, validation::FieldViolation};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

/// What a peer's refusal means to its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The request was bad (INVALID_ARGUMENT), these fields.
    Invalid(Vec<FieldViolation>),
    /// The resource exists already (ALREADY_EXISTS); its name when the peer disclosed it.
    Exists(Option<String>),
    /// The peer does not let the caller do this: no or a bad token, a missing role, or a
    /// resource the caller may not see (which reads as NOT_FOUND).
    Denied,
    /// A state or race refusal (FAILED_PRECONDITION, ABORTED): retrying as is will not help
    /// until something changes.
    Conflict,
    /// The peer could not answer (down, overloaded, a deadline, a bug).
    Failed,
}

/// A peer's error, decoded.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The peer's short name, e.g. `customers`.
    pub service: &'static str,
    /// What it means.
    pub refused: Refused,
    /// The status code.
    pub code: Code,
    /// The peer's stable reason (`ErrorInfo.reason`), empty if it sent none.
    pub reason: String,
    /// The peer's message.
    pub message: String,
}

impl Refusal {
    /// Decodes `status`, the answer of `service`.
    pub fn read(service: &'static str, status: &Status) -> Self {
        let details = status.get_error_details();
        let refused = match status.code() {
            Code::InvalidArgument => Refused::Invalid(
                details
                    .bad_request()
                    .map(|b| {
                        b.field_violations
                            .iter()
                            .map(|v| FieldViolation {
                                field: v.field.clone(),
                                description: v.description.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Code::AlreadyExists => Refused::Exists(
                details
                    .resource_info()
                    .map(|r| r.resource_name.clone())
                    .filter(|n| !n.is_empty()),
            ),
            Code::PermissionDenied | Code::Unauthenticated | Code::NotFound => Refused::Denied,
            Code::FailedPrecondition | Code::Aborted => Refused::Conflict,
            _ => Refused::Failed,
        };
        Self {
            service,
            refused,
            code: status.code(),
            reason: details
                .error_info()
                .map(|i| i.reason.clone())
                .unwrap_or_default(),
            message: status.message().to_owned(),
        }
    }

    /// The answer to give the caller when this refusal is not handled on its own: a denial
    /// stays PERMISSION_DENIED; anything else is UNAVAILABLE, saying `failed` (what did not
    /// happen) and `then` (what the caller may do, e.g. retry with the same request id).
    pub fn into_error(self, failed: &str, then: &str) -> Error {
        match self.refused {
            Refused::Denied => Error::PermissionDenied(format!(
                "the {} service refused: {}",
                self.service, self.message
            )),
            _ => Error::unavailable(format!(
                "{failed} ({}: {}); {then}",
                self.code, self.message
            )),
        }
    }
}

impl Refusal {
    /// The peer's state refusal (FAILED_PRECONDITION) passed on as the caller's own answer,
    /// for one the caller can neither help nor word better (a coupon already redeemed): the
    /// peer's message, and its reason when it is one of `reasons` (an error's reason is static
    /// text, so the caller lists those it knows), else `fallback`. `None` for any other
    /// refusal.
    pub fn passed_on(&self, reasons: &[&'static str], fallback: &'static str) -> Option<Error> {
        (self.code == Code::FailedPrecondition).then(|| {
            let reason = reasons
                .iter()
                .copied()
                .find(|r| *r == self.reason)
                .unwrap_or(fallback);
            Error::precondition(reason, self.message.clone())
        })
    }
}

/// What a peer answered when asked, on a caller's behalf, for `name` that the caller named in
/// `field`: NOT_FOUND reads as a bad field (it does not exist or the caller may not see it,
/// alike, so the answer discloses nothing), the peer's INVALID_ARGUMENT as one too; a peer that
/// does not answer is UNAVAILABLE, and nothing was written.
pub fn as_field(service: &'static str, status: &Status, name: &str, field: &str) -> Error {
    let refusal = Refusal::read(service, status);
    match (refusal.code, &refusal.refused) {
        (Code::NotFound, _) => Error::invalid(
            field,
            format!("{name} does not exist or you may not see it"),
        ),
        (_, Refused::Invalid(_)) => Error::invalid(field, refusal.message),
        _ => refusal.into_error(
            &format!("{name} could not be read"),
            "nothing was written; retry with the same request_id",
        ),
    }
}

/// The customer `id`, read from the customers service on the caller of `req`'s behalf, so the
/// customers service applies its visibility; a customer the caller may not see (or another
/// tenant's) reads as a bad `field`, as one that does not exist.
pub async fn customer<T>(
    peers: &Peers,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    let name = crate::names::format_id("customers", id);
    let mut client = CustomerServiceClient::new(peers.channel("customers")?);
    let call = Peers::request(req, cpb::GetCustomerRequest { name: name.clone() });
    client
        .get_customer(call)
        .await
        .map(|r| r.into_inner())
        .map_err(|s| as_field("customers", &s, &name, field))
}

/// As [`customer`], refusing a customer that is deleted or merged (what a new order or ticket
/// names must be a live customer).
pub async fn live_customer<T>(
    peers: &Peers,
    req: &Request<T>,
    id: Uuid,
    field: &str,
) -> Result<cpb::Customer> {
    let c = customer(peers, req, id, field).await?;
    if c.delete_time.is_some() || !c.merged_into.is_empty() {
        return Err(Error::invalid(
            field,
            format!(
                "{} is deleted or merged; use the surviving customer",
                c.name
            ),
        ));
    }
    Ok(c)
}

/// As [`live_customer`] for each of `ids`, the customers a request names in the list `field`
/// (`field[i]` for the i-th): a few are read at a time, and every one that is absent, invisible
/// to the caller, deleted or merged is named in one INVALID_ARGUMENT. A peer that does not
/// answer is UNAVAILABLE, as for one customer.
pub async fn live_customers<T>(
    peers: &Peers,
    req: &Request<T>,
    ids: &[Uuid],
    field: &str,
) -> Result<Vec<cpb::Customer>> {
    use futures::{StreamExt, stream};
    // Owned ids: with borrowed ones the compiler cannot prove a handler awaiting this is Send.
    let read: Vec<Result<cpb::Customer>> = stream::iter(ids.iter().copied().enumerate())
        .map(|(i, id)| {
            let field = format!("{field}[{i}]");
            async move { live_customer(peers, req, id, &field).await }
        })
        .buffered(PEER_READS)
        .collect()
        .await;
    let mut found = Vec::with_capacity(read.len());
    let mut bad = Vec::new();
    for r in read {
        match r {
            Ok(c) => found.push(c),
            Err(Error::InvalidArgument(v)) => bad.extend(v),
            Err(e) => return Err(e),
        }
    }
    if bad.is_empty() {
        Ok(found)
    } else {
        Err(Error::InvalidArgument(bad))
    }
}

/// Reads of a peer one request makes at a time: enough to hide the round trips, few enough
/// not to crowd the peer.
const PEER_READS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peers_error_reads_back_as_it_was_meant() {
        let exists: Status = Error::AlreadyExists {
            reason: "DUPLICATE_CUSTOMER",
            message: "taken".into(),
            existing: "customers/1".into(),
            metadata: Vec::new(),
        }
        .into();
        let r = Refusal::read("customers", &exists);
        assert_eq!(r.refused, Refused::Exists(Some("customers/1".into())));
        assert_eq!(r.reason, "DUPLICATE_CUSTOMER");

        let hidden: Status = Error::AlreadyExists {
            reason: "DUPLICATE_CUSTOMER",
            message: "taken".into(),
            existing: String::new(),
            metadata: Vec::new(),
        }
        .into();
        assert_eq!(
            Refusal::read("customers", &hidden).refused,
            Refused::Exists(None)
        );

        let bad: Status = Error::invalid("customer.phones[0]", "is not a phone number").into();
        match Refusal::read("customers", &bad).refused {
            Refused::Invalid(v) => assert_eq!(v[0].field, "customer.phones[0]"),
            other => panic!("{other:?}"),
        }

        let denied = Refusal::read("customers", &Status::permission_denied("no"));
        assert!(matches!(
            denied.into_error("x", "y"),
            Error::PermissionDenied(m) if m.contains("customers service refused")
        ));
        let spent: Status = Error::precondition("COUPON_EXPIRED", "coupons/X expired").into();
        let spent = Refusal::read("campaigns", &spent);
        let passed = spent.passed_on(&["COUPON_EXPIRED"], "COUPON_REFUSED");
        assert!(matches!(
            passed,
            Some(Error::FailedPrecondition { reason: "COUPON_EXPIRED", ref message })
                if message == "coupons/X expired"
        ));
        assert!(matches!(
            spent.passed_on(&[], "COUPON_REFUSED"),
            Some(Error::FailedPrecondition {
                reason: "COUPON_REFUSED",
                ..
            })
        ));

        let down = Refusal::read("customers", &Status::unavailable("down"));
        assert!(down.passed_on(&[], "X").is_none());
        assert_eq!(down.refused, Refused::Failed);
        assert_eq!(
            down.into_error("nothing moved", "retry").code(),
            Code::Unavailable
        );
    }
}
