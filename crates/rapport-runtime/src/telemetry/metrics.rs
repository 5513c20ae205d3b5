//! Prometheus metrics: the shared registry, the gRPC server metrics and the `/metrics` endpoint.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry, Unit};

/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request duration buckets, in seconds: from 0.5 ms (a cache hit) to 10 s (a slow export).
const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct CallLabels {
    pub(super) service: String,
    pub(super) method: String,
    pub(super) code: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct MethodLabels {
    pub(super) service: String,
    pub(super) method: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The metrics every gRPC server exports, fed by [`super::GrpcTelemetryLayer`].
#[derive(Debug)]
pub(super) struct GrpcMetrics {
    pub(super) requests: Family<CallLabels, Counter>,
    pub(super) duration: Family<MethodLabels, Histogram, fn() -> Histogram>,
    pub(super) in_flight: Gauge,
}

#[derive(Debug)]
struct Inner {
    registry: Mutex<Registry>,
    grpc: GrpcMetrics,
}

/// A process's metrics registry, cheap to clone and shared by every part that exports metrics.
///
/// Metric names should start with `rapport_`; registering the same name twice produces an
/// invalid exposition, so each part registers its metrics once, at startup.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry holding the standard gRPC server metrics:
    /// `rapport_grpc_requests_total{service, method, code}`,
    /// `rapport_grpc_request_duration_seconds{service, method}` and
    /// `rapport_grpc_in_flight_requests`.
    pub fn new() -> Self {
        let grpc = GrpcMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            in_flight: Gauge::default(),
        };
        let mut registry = Registry::default();
        // The encoder appends `_total` to counters and `_seconds` from the unit.
        registry.register(
            "rapport_grpc_requests",
            "gRPC requests handled, by final status code",
            grpc.requests.clone(),
        );
        registry.register_with_unit(
            "rapport_grpc_request_duration",
            "Time from receiving a gRPC request to sending its response headers",
            Unit::Seconds,
            grpc.duration.clone(),
        );
        registry.register(
            "rapport_grpc_in_flight_requests",
            "gRPC requests being handled",
            grpc.in_flight.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                grpc,
            }),
        }
    }

    pub(super) fn grpc(&self) -> &GrpcMetrics {
        &self.inner.grpc
    }

    /// Direct access to the registry, e.g. for units, sub-registries or collectors.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while registering leaves the registry usable; keep serving metrics.
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers any metric (including a `Family`) and returns it for recording.
    pub fn register<M: Metric + Clone>(&self, name: &str, help: &str, metric: M) -> M {
        self.registry().register(name, help, metric.clone());
        metric
    }

    /// Registers a counter; the exposition name gets a `_total` suffix.
    pub fn register_counter(&self, name: &str, help: &str) -> Counter {
        self.register(name, help, Counter::default())
    }

    /// Registers an integer gauge.
    pub fn register_gauge(&self, name: &str, help: &str) -> Gauge {
        self.register(name, help, Gauge::default())
    }

    /// Registers a histogram with the given bucket upper bounds.
    pub fn register_histogram(
        &self,
        name: &str,
        help: &str,
        buckets: impl IntoIterator<Item = f64>,
    ) -> Histogram {
        self.register(name, help, Histogram::new(buckets))
    }

    /// All metrics in the OpenMetrics text format, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &self.registry()) {
            tracing::warn!(error = %err, "could not encode metrics");
        }
        out
    }
}

/// Serves `GET /metrics` (OpenMetrics text) and `GET /healthz` (`ok`) over HTTP/1.1 on `addr`
/// until `shutdown` completes.
///
/// Returns the bound address (useful with port 0) and the server task.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(metrics);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %err, "metrics server stopped");
        }
    });
    Ok((bound, task))
}

async fn metrics_handler(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn http_get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    }

    #[test]
    fn encodes_standard_and_custom_metrics() {
        let metrics = Metrics::new();
        let events = metrics.register_counter("rapport_test_events", "Events seen");
        events.inc_by(3);
        let depth = metrics.register_gauge("rapport_test_depth", "Queue depth");
        depth.set(7);
        let latency = metrics.register_histogram("rapport_test_latency_seconds", "Latency", [0.1]);
        latency.observe(0.05);

        let text = metrics.encode();
        // Families without series are left out of the exposition until first used.
        assert!(text.contains("rapport_grpc_in_flight_requests 0"));
        assert!(text.contains("rapport_test_events_total 3"));
        assert!(text.contains("rapport_test_depth 7"));
        assert!(text.contains("rapport_test_latency_seconds_bucket{le=\"0.1\"} 1"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn serves_metrics_and_health_over_http() {
        let metrics = Metrics::new();
        metrics.register_counter("rapport_test_hits", "Hits").inc();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, task) =
            serve_metrics("127.0.0.1:0".parse().expect("addr"), metrics, async move {
                let _ = stopped.await;
            })
            .await
            .expect("bind");
        assert_ne!(addr.port(), 0);

        let response = http_get(addr, "/metrics").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        let lower = response.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("content-type: {OPENMETRICS_CONTENT_TYPE}")),
            "{response}"
        );
        assert!(response.contains("rapport_test_hits_total 1"), "{response}");
        assert!(response.contains("# EOF"));

        let response = http_get(addr, "/healthz").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("ok"), "{response}");

        let response = http_get(addr, "/nope").await;
        assert!(response.starts_with("HTTP/1.1 404"), "{response}");

        stop.send(()).expect("server still running");
        task.await.expect("server task");
    }
}
