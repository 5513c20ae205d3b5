//! Calls into the server's own gRPC stack in process: the request framed as gRPC, passed to
//! the same tower service the gRPC port serves (telemetry, conventions, load shedding,
//! authentication, the services), the reply unframed and its status read from the headers or
//! the trailers.

use std::{convert::Infallible, time::Duration};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Version, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use tonic::{Code, Status};
use tower::{ServiceExt, util::BoxCloneSyncService};

/// The request headers passed on as gRPC metadata: credentials, trace context, request ids,
/// and the caller's deadline.
const FORWARDED: [&str; 7] = [
    "authorization",
    "traceparent",
    "tracestate",
    "x-request-id",
    "idempotency-key",
    "grpc-timeout",
    "user-agent",
];

/// The server's gRPC service stack, boxed.
pub type GrpcStack = BoxCloneSyncService<
    Request<tonic::body::Body>,
    Response<UnsyncBoxBody<Bytes, Status>>,
    Infallible,
>;

/// Boxes a gRPC service stack for the gateway.
pub fn boxed<S, B>(stack: S) -> GrpcStack
where
    S: tower::Service<Request<tonic::body::Body>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes, Error = Status> + Send + 'static,
{
    BoxCloneSyncService::new(stack.map_response(|r| r.map(BodyExt::boxed_unsync)))
}

/// Calls `path` (`/package.Service/Method`) with the encoded `message`, within `timeout` or
/// the caller's shorter `grpc-timeout`; returns the encoded reply.
pub async fn unary(
    stack: &GrpcStack,
    path: &str,
    message: Vec<u8>,
    headers: &HeaderMap,
    timeout: Duration,
) -> Result<Bytes, Status> {
    let mut framed = BytesMut::with_capacity(message.len() + 5);
    framed.extend_from_slice(&[0]);
    let len = u32::try_from(message.len())
        .map_err(|_| Status::resource_exhausted("the request is too large"))?;
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&message);
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .version(Version::HTTP_2)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers")
        .body(tonic::body::Body::new(Full::new(framed.freeze())))
        .map_err(|e| Status::internal(e.to_string()))?;
    for name in FORWARDED {
        for value in headers.get_all(name) {
            request.headers_mut().append(name, value.clone());
        }
    }
    let deadline = headers
        .get("grpc-timeout")
        .and_then(parse_timeout)
        .map_or(timeout, |t| t.min(timeout));
    let call = async {
        let Ok(response) = stack.clone().oneshot(request).await;
        read_reply(response).await
    };
    tokio::time::timeout(deadline, call)
        .await
        .map_err(|_| Status::deadline_exceeded("the request did not finish within its deadline"))?
}

/// The message of a unary reply, or its status when it is not OK.
async fn read_reply(response: Response<UnsyncBoxBody<Bytes, Status>>) -> Result<Bytes, Status> {
    let (parts, body) = response.into_parts();
    // A call refused before its handler ran answers with the status in the headers alone.
    if let Some(status) = Status::from_header_map(&parts.headers)
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    let collected = body.collect().await?;
    if let Some(status) = collected.trailers().and_then(Status::from_header_map)
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    let mut data = collected.to_bytes();
    if data.len() < 5 {
        return Err(Status::internal("the reply has no message"));
    }
    if data[0] != 0 {
        return Err(Status::internal("the reply is compressed"));
    }
    data.advance(1);
    let len = data.get_u32() as usize;
    if data.len() < len {
        return Err(Status::internal("the reply is cut short"));
    }
    Ok(data.split_to(len))
}

/// A `grpc-timeout` value: up to eight digits and a unit (H, M, S, m, u, n).
fn parse_timeout(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse() {
        let parse = |s: &'static str| parse_timeout(&HeaderValue::from_static(s));
        assert_eq!(parse("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("S"), None);
        assert_eq!(parse("123456789S"), None);
        assert_eq!(parse("5x"), None);
    }
}
