//! Statuses tonic produces itself, answered as gRPC's conventions and this server's other
//! answers are: a message over the size limit is RESOURCE_EXHAUSTED, as the gRPC status guide
//! and other gRPC servers have it, where tonic says OUT_OF_RANGE, and it carries an `ErrorInfo`
//! (reason `MESSAGE_TOO_LARGE`) like every other status. The status may travel in the response
//! headers (a unary call refused before its handler ran) or in the trailers (a stream), so
//! both are rewritten.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

/// What tonic's size checks say, at the start of their messages.
const TOO_LARGE: [&str; 2] = [
    "Error, decoded message length too large",
    "Error, encoded message length too large",
];

/// Rewrites tonic's own statuses (see the module).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConventionsLayer;

impl<S> Layer<S> for ConventionsLayer {
    type Service = Conventions<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Conventions { inner }
    }
}

/// The service built by [`ConventionsLayer`].
#[derive(Debug, Clone)]
pub struct Conventions<S> {
    inner: S,
}

type BoxFut<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<http::Request<B>> for Conventions<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Remapped<R>>;
    type Error = S::Error;
    type Future = BoxFut<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let fut = self.inner.call(request);
        Box::pin(async move {
            let mut response = fut.await?;
            rewrite(response.headers_mut());
            Ok(response.map(|inner| Remapped { inner }))
        })
    }
}

/// A response body whose trailers are rewritten.
#[derive(Debug)]
pub struct Remapped<B> {
    inner: B,
}

impl<B: Body + Unpin> Body for Remapped<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(mut frame))) => {
                if let Some(trailers) = frame.trailers_mut() {
                    rewrite(trailers);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Rewrites a status in `headers` that tonic made with a code the conventions give another.
fn rewrite(headers: &mut HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if status.code() != Code::OutOfRange
        || !TOO_LARGE.iter().any(|m| status.message().starts_with(m))
    {
        return;
    }
    let mut details = ErrorDetails::new();
    details.set_error_info("MESSAGE_TOO_LARGE", crate::error::DOMAIN, HashMap::new());
    let message = format!(
        "the message is larger than this server accepts ({})",
        status.message().trim_start_matches("Error, ")
    );
    let remapped = Status::with_error_details(Code::ResourceExhausted, message, details);
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if remapped.add_header(headers).is_err() {
        tracing::warn!("a status could not be rewritten");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(status: &Status) -> HeaderMap {
        let mut h = HeaderMap::new();
        status.add_header(&mut h).expect("header");
        h
    }

    #[test]
    fn tonic_size_limits_become_resource_exhausted() {
        let mut h = headers_of(&Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        ));
        rewrite(&mut h);
        let status = Status::from_header_map(&h).expect("a status");
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("4194304"), "{}", status.message());
        assert_eq!(
            status
                .get_error_details()
                .error_info()
                .map(|i| i.reason.clone()),
            Some("MESSAGE_TOO_LARGE".to_owned())
        );
    }

    #[test]
    fn other_statuses_stay_as_they_are() {
        for status in [Status::out_of_range("page 7 of 3"), Status::not_found("x")] {
            let mut h = headers_of(&status);
            let before = h.clone();
            rewrite(&mut h);
            assert_eq!(h, before);
        }
        let mut none = HeaderMap::new();
        rewrite(&mut none);
        assert!(none.is_empty());
    }
}
