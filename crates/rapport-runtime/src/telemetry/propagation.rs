//! W3C trace context across process boundaries: gRPC metadata, HTTP headers and events.

use std::collections::HashMap;

use opentelemetry::global;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

const TRACEPARENT: &str = "traceparent";

/// The W3C `traceparent` of the current span, to store with an outgoing event.
///
/// `None` when there is no span or it has no valid OpenTelemetry context (no subscriber from
/// [`super::init`], or the span was filtered out).
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    // W3C format regardless of the global propagator: events store exactly this header.
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Adds the current span's trace context (`traceparent`, `tracestate`) to outgoing gRPC
/// metadata, using the global propagator set by [`super::init`].
pub fn inject_context(metadata: &mut MetadataMap) {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut MetadataInjector(metadata));
    });
}

/// A span for handling an event produced under `traceparent`, so the consumer's work joins
/// the producer's trace.
///
/// The tracing name is `"event"`; `name` becomes the exported span name (`otel.name`). An
/// invalid or empty `traceparent` starts a new trace.
pub fn span_from_traceparent(name: &str, traceparent: &str) -> tracing::Span {
    let span = tracing::info_span!("event", otel.name = %name, otel.kind = "consumer");
    let cx = TraceContextPropagator::new().extract(&SingleHeader(TRACEPARENT, traceparent));
    if cx.span().span_context().is_valid() {
        // Fails only when the span is disabled or no OpenTelemetry layer is installed.
        let _ = span.set_parent(cx);
    }
    span
}

/// The remote parent carried by incoming HTTP/2 headers, per the global propagator.
pub(super) fn extract_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // Propagators only produce ASCII keys and values; skip anything else silently.
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct SingleHeader<'a>(&'static str, &'a str);

impl Extractor for SingleHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == self.0).then_some(self.1)
    }

    fn keys(&self) -> Vec<&str> {
        vec![self.0]
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    pub(crate) const REMOTE_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    pub(crate) const REMOTE_TRACEPARENT: &str =
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// A thread-local subscriber with the OpenTelemetry layer, so tests do not depend on (or
    /// change) the global one.
    pub(crate) fn with_otel_subscriber() -> tracing::subscriber::DefaultGuard {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(super::super::logging::otel_layer(&provider));
        tracing::subscriber::set_default(subscriber)
    }

    pub(crate) fn parts(traceparent: &str) -> Vec<&str> {
        traceparent.split('-').collect()
    }

    #[test]
    fn no_traceparent_outside_a_span() {
        let _guard = with_otel_subscriber();
        assert_eq!(current_traceparent(), None);
        let mut metadata = MetadataMap::new();
        inject_context(&mut metadata);
        assert!(metadata.get(TRACEPARENT).is_none());
    }

    #[test]
    fn current_span_gives_traceparent_and_metadata() {
        let _guard = with_otel_subscriber();
        let span = tracing::info_span!("work");
        let _entered = span.enter();

        let traceparent = current_traceparent().expect("traceparent in a span");
        let fields = parts(&traceparent);
        assert_eq!(fields.len(), 4, "{traceparent}");
        assert_eq!(fields[0], "00");
        assert_eq!(fields[1].len(), 32);
        assert_eq!(fields[2].len(), 16);
        assert_eq!(fields[3], "01");

        let mut metadata = MetadataMap::new();
        inject_context(&mut metadata);
        let injected = metadata.get(TRACEPARENT).expect("traceparent metadata");
        assert_eq!(injected.to_str().ok(), Some(traceparent.as_str()));
    }

    #[test]
    fn event_span_continues_the_producer_trace() {
        let _guard = with_otel_subscriber();
        let span = span_from_traceparent("customers.created", REMOTE_TRACEPARENT);
        let _entered = span.enter();

        let traceparent = current_traceparent().expect("traceparent in event span");
        let fields = parts(&traceparent);
        assert_eq!(fields[1], REMOTE_TRACE_ID);
        assert_ne!(
            fields[2], "00f067aa0ba902b7",
            "a new span id under the remote parent"
        );
        assert_eq!(fields[3], "01");
    }

    #[test]
    fn invalid_traceparent_starts_a_new_trace() {
        let _guard = with_otel_subscriber();
        let span = span_from_traceparent("customers.created", "garbage");
        let _entered = span.enter();
        let traceparent = current_traceparent().expect("traceparent in event span");
        assert_ne!(parts(&traceparent)[1], REMOTE_TRACE_ID);
    }
}
