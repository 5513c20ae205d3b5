//! Logs, traces and metrics: the global subscriber ([`init`]), the Prometheus registry and
//! endpoint ([`Metrics`], [`serve_metrics`]), the tower layer that instruments a tonic server
//! ([`GrpcTelemetryLayer`]) and W3C trace-context propagation for outbound calls and events.

mod logging;
mod metrics;
mod propagation;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::trace::TraceContextExt as _;
use tower::{Layer, Service};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use logging::{LOG_ENV, LogFormat, ParseLogFormatError, TelemetryGuard, init};
pub use metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, serve_metrics};
pub use propagation::{current_traceparent, inject_context, span_from_traceparent};

use metrics::{CallLabels, MethodLabels};

/// Tower layer for a tonic server: a `grpc` span per request (child of the caller's
/// `traceparent`), plus the gRPC metrics of [`Metrics`].
///
/// ```ignore
/// tonic::transport::Server::builder()
///     .layer(GrpcTelemetryLayer::new(metrics.clone()))
///     .add_service(service)
/// ```
///
/// The status code is taken from the `grpc-status` response header, which tonic sets for
/// errors returned before any message (all unary errors). Otherwise the status travels in the
/// trailers, which this layer does not wait for: an HTTP 200 counts as `0` (OK), so a stream
/// that fails after its first message still counts as OK, and durations measure the time to
/// the response headers, not to the end of a stream. A request dropped before its response
/// (client cancellation, or a deadline enforced by tonic outside this layer) counts as `1`
/// (CANCELLED), and an error from the inner service as `2` (UNKNOWN). Requests rejected by
/// tonic's own load shedding never reach this layer.
#[derive(Debug, Clone)]
pub struct GrpcTelemetryLayer {
    metrics: Metrics,
}

impl GrpcTelemetryLayer {
    /// Records into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for GrpcTelemetryLayer {
    type Service = GrpcTelemetry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTelemetry {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service produced by [`GrpcTelemetryLayer`].
#[derive(Debug, Clone)]
pub struct GrpcTelemetry<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, ResBody> Service<http::Request<B>> for GrpcTelemetry<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = split_path(request.uri().path());
        let span = tracing::info_span!(
            "grpc",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let parent = propagation::extract_context(request.headers());
        if parent.span().span_context().is_valid() {
            // Fails only when the span is disabled or no OpenTelemetry layer is installed.
            let _ = span.set_parent(parent);
        }

        let mut call = Call::start(self.metrics.clone(), service, method, span.clone());
        // Entered so that work the inner service does before returning its future is traced too.
        let future = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = future.await;
                let code = match &result {
                    Ok(response) => response_code(response),
                    Err(_) => CODE_UNKNOWN,
                };
                call.finish(code);
                result
            }
            .instrument(span),
        )
    }
}

/// One request being handled; dropping it unfinished records a cancellation.
struct Call {
    metrics: Metrics,
    service: String,
    method: String,
    span: tracing::Span,
    start: Instant,
    finished: bool,
}

impl Call {
    fn start(metrics: Metrics, service: &str, method: &str, span: tracing::Span) -> Self {
        metrics.grpc().in_flight.inc();
        Self {
            metrics,
            service: service.to_owned(),
            method: method.to_owned(),
            span,
            start: Instant::now(),
            finished: false,
        }
    }

    fn finish(&mut self, code: u8) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.span.record("rpc.grpc.status_code", code);
        if is_server_error(code) {
            self.span.record("otel.status_code", "error");
        }

        // Unknown paths are answered UNIMPLEMENTED by the router; folding them (and anything
        // that does not look like a gRPC name) keeps label cardinality bounded by the API.
        let known = code != CODE_UNIMPLEMENTED && is_label_safe(&self.service, &self.method);
        let (service, method) = if known {
            (
                std::mem::take(&mut self.service),
                std::mem::take(&mut self.method),
            )
        } else {
            ("unknown".to_owned(), "unknown".to_owned())
        };
        let grpc = self.metrics.grpc();
        grpc.duration
            .get_or_create(&MethodLabels {
                service: service.clone(),
                method: method.clone(),
            })
            .observe(self.start.elapsed().as_secs_f64());
        grpc.requests
            .get_or_create(&CallLabels {
                service,
                method,
                code: CODE_LABELS[usize::from(code)],
            })
            .inc();
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(CODE_CANCELLED);
        self.metrics.grpc().in_flight.dec();
    }
}

const CODE_OK: u8 = 0;
const CODE_CANCELLED: u8 = 1;
const CODE_UNKNOWN: u8 = 2;
const CODE_PERMISSION_DENIED: u8 = 7;
const CODE_UNIMPLEMENTED: u8 = 12;
const CODE_INTERNAL: u8 = 13;
const CODE_UNAVAILABLE: u8 = 14;
const CODE_UNAUTHENTICATED: u8 = 16;

const CODE_LABELS: [&str; 17] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
];

/// The gRPC status of a response, as far as its headers tell.
fn response_code<B>(response: &http::Response<B>) -> u8 {
    if let Some(value) = response.headers().get("grpc-status") {
        return value
            .to_str()
            .ok()
            .and_then(|code| code.parse::<u8>().ok())
            .filter(|code| usize::from(*code) < CODE_LABELS.len())
            .unwrap_or(CODE_UNKNOWN);
    }
    // Mapping from the gRPC spec (doc/http-grpc-status-mapping.md) for non-gRPC answers.
    match response.status().as_u16() {
        200 => CODE_OK,
        400 => CODE_INTERNAL,
        401 => CODE_UNAUTHENTICATED,
        403 => CODE_PERMISSION_DENIED,
        404 => CODE_UNIMPLEMENTED,
        429 | 502 | 503 | 504 => CODE_UNAVAILABLE,
        _ => CODE_UNKNOWN,
    }
}

/// Codes that mean the server failed, per the OpenTelemetry RPC conventions for server spans.
fn is_server_error(code: u8) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// `/package.Service/Method` into its two parts.
fn split_path(path: &str) -> (&str, &str) {
    match path.strip_prefix('/').and_then(|rest| rest.split_once('/')) {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => (service, method),
        _ => ("unknown", "unknown"),
    }
}

fn is_label_safe(service: &str, method: &str) -> bool {
    let name_ok = |name: &str| {
        name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    };
    name_ok(service) && name_ok(method)
}

#[cfg(test)]
mod tests {
    use super::propagation::tests::{
        REMOTE_TRACE_ID, REMOTE_TRACEPARENT, parts, with_otel_subscriber,
    };
    use super::*;
    use std::convert::Infallible;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tower::ServiceExt as _;

    #[test]
    fn splits_grpc_paths() {
        assert_eq!(
            split_path("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(split_path("/"), ("unknown", "unknown"));
        assert_eq!(split_path("/only"), ("unknown", "unknown"));
        assert_eq!(split_path(""), ("unknown", "unknown"));
    }

    #[test]
    fn reads_status_from_headers() {
        let response = |status: u16, grpc: Option<&str>| {
            let mut builder = http::Response::builder().status(status);
            if let Some(grpc) = grpc {
                builder = builder.header("grpc-status", grpc);
            }
            builder.body(()).expect("response")
        };
        assert_eq!(response_code(&response(200, None)), 0);
        assert_eq!(response_code(&response(200, Some("5"))), 5);
        assert_eq!(response_code(&response(200, Some("99"))), CODE_UNKNOWN);
        assert_eq!(response_code(&response(503, None)), CODE_UNAVAILABLE);
        assert_eq!(response_code(&response(418, None)), CODE_UNKNOWN);
    }

    #[tokio::test]
    async fn request_span_continues_the_caller_trace() {
        let _guard = with_otel_subscriber();
        let inner = tower::service_fn(|_request: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(current_traceparent()))
        });
        let metrics = Metrics::new();
        let service = GrpcTelemetryLayer::new(metrics.clone()).layer(inner);

        let request = http::Request::builder()
            .uri("/rapport.customers.v1.CustomerService/GetCustomer")
            .header("traceparent", REMOTE_TRACEPARENT)
            .body(())
            .expect("request");
        let response = service.oneshot(request).await.expect("infallible");

        let seen = response
            .into_body()
            .expect("traceparent inside the handler");
        assert_eq!(parts(&seen)[1], REMOTE_TRACE_ID, "{seen}");
        assert_ne!(parts(&seen)[2], "00f067aa0ba902b7");
        let text = metrics.encode();
        assert!(
            text.contains(
                "rapport_grpc_requests_total{service=\"rapport.customers.v1.CustomerService\",method=\"GetCustomer\",code=\"0\"} 1"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn dropped_request_counts_as_cancelled() {
        let inner = tower::service_fn(|_request: http::Request<()>| {
            std::future::pending::<Result<http::Response<()>, Infallible>>()
        });
        let metrics = Metrics::new();
        let mut service = GrpcTelemetryLayer::new(metrics.clone()).layer(inner);
        let request = http::Request::builder()
            .uri("/svc.Slow/Wait")
            .body(())
            .expect("request");
        let future = service.ready().await.expect("ready").call(request);
        assert!(
            metrics
                .encode()
                .contains("rapport_grpc_in_flight_requests 1")
        );
        drop(future);

        let text = metrics.encode();
        assert!(text.contains("rapport_grpc_in_flight_requests 0"), "{text}");
        assert!(
            text.contains(
                "rapport_grpc_requests_total{service=\"svc.Slow\",method=\"Wait\",code=\"1\"} 1"
            ),
            "{text}"
        );
    }

    #[tokio::test]
    async fn layer_instruments_a_tonic_server() {
        let metrics = Metrics::new();
        let (_reporter, health) = tonic_health::server::health_reporter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .layer(GrpcTelemetryLayer::new(metrics.clone()))
                .add_service(health)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async move {
                        let _ = stopped.await;
                    },
                ),
        );

        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut client = HealthClient::new(channel);
        client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("overall health");
        let missing = client
            .check(HealthCheckRequest {
                service: "rapport.nope.v1.Nope".to_owned(),
            })
            .await
            .expect_err("unregistered service");
        assert_eq!(missing.code(), tonic::Code::NotFound);

        let text = metrics.encode();
        let expect = |line: &str| assert!(text.contains(line), "missing {line:?} in\n{text}");
        expect(
            "rapport_grpc_requests_total{service=\"grpc.health.v1.Health\",method=\"Check\",code=\"0\"} 1",
        );
        expect(
            "rapport_grpc_requests_total{service=\"grpc.health.v1.Health\",method=\"Check\",code=\"5\"} 1",
        );
        expect(
            "rapport_grpc_request_duration_seconds_count{service=\"grpc.health.v1.Health\",method=\"Check\"} 2",
        );
        expect("rapport_grpc_in_flight_requests 0");

        stop.send(()).expect("server still running");
        server.await.expect("server task").expect("server");
    }
}
