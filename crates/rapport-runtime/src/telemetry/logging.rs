//! Global tracing subscriber: logs to stdout, spans to OTLP when configured.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Environment variable holding the log filter (`EnvFilter` syntax, default `info`).
pub const LOG_ENV: &str = "RAPPORT_LOG";

/// Standard OpenTelemetry variables; either one turns span export on.
const OTLP_ENDPOINT_ENVS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

impl LogFormat {
    fn as_str(self) -> &'static str {
        match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A log format name other than `json` or `pretty`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log format {0:?} (expected \"json\" or \"pretty\")")]
pub struct ParseLogFormatError(String);

impl FromStr for LogFormat {
    type Err = ParseLogFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("json") {
            Ok(LogFormat::Json)
        } else if s.eq_ignore_ascii_case("pretty") {
            Ok(LogFormat::Pretty)
        } else {
            Err(ParseLogFormatError(s.to_owned()))
        }
    }
}

/// Keeps span export alive; dropping it flushes pending spans and shuts the exporter down.
///
/// Drop it inside a multi-threaded Tokio runtime: the OTLP exporter needs the runtime to send
/// the last batch while the dropping thread waits.
#[must_use = "dropping the guard stops span export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    /// Only set when this call installed an exporting provider; a provider without exporter
    /// has nothing to flush and must keep working for propagation.
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "could not flush spans on shutdown");
        }
    }
}

/// Installs the global tracing subscriber and the W3C trace-context propagator.
///
/// Logs go to stdout as JSON or human-readable lines, filtered by `RAPPORT_LOG` (default
/// `info`). When `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
/// set, spans at `info` and above are also exported over OTLP/gRPC with a batch processor;
/// the exporter reads the other standard `OTEL_*` variables itself, and this must then be
/// called inside a Tokio runtime.
///
/// Spans always carry OpenTelemetry ids, even without an exporter, so trace context is passed
/// on to outbound calls and events either way.
///
/// A second call (or a subscriber installed by someone else) leaves the existing subscriber
/// in place and returns a guard that does nothing.
pub fn init(
    service_name: &str,
    format: LogFormat,
) -> Result<TelemetryGuard, Box<dyn std::error::Error>> {
    global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .with_env_var(LOG_ENV)
        .from_env()
        .map_err(|err| format!("invalid {LOG_ENV}: {err}"))?;

    let exporting = otlp_configured();
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut provider = SdkTracerProvider::builder().with_resource(resource);
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();

    let installed = tracing_subscriber::registry()
        .with(log_layer(format, filter))
        .with(otel_layer(&provider))
        .try_init()
        .is_ok();
    // Spans get their OpenTelemetry ids from the layer's own provider; the global one matters
    // only to exporters (and announces itself in the log, which is noise without one).
    if installed && exporting {
        global::set_tracer_provider(provider.clone());
    }

    Ok(TelemetryGuard {
        provider: (installed && exporting).then_some(provider),
    })
}

fn otlp_configured() -> bool {
    OTLP_ENDPOINT_ENVS
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

fn log_layer(format: LogFormat, filter: EnvFilter) -> Box<dyn Layer<Registry> + Send + Sync> {
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stdout)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout)
            .with_filter(filter)
            .boxed(),
    }
}

/// The OpenTelemetry layer, with its own level so that a quiet `RAPPORT_LOG` does not drop the
/// request spans that carry trace context.
pub(super) fn otel_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("rapport"))
        .with_filter(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_parses_and_prints() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("Pretty".parse::<LogFormat>(), Ok(LogFormat::Pretty));
        assert!("xml".parse::<LogFormat>().is_err());
        assert_eq!(LogFormat::default(), LogFormat::Json);
        for format in [LogFormat::Json, LogFormat::Pretty] {
            assert_eq!(format.to_string().parse::<LogFormat>(), Ok(format));
        }
    }

    #[test]
    fn log_format_names_match_clap() {
        use clap::ValueEnum as _;
        for format in LogFormat::value_variants() {
            let name = format.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(name.as_deref(), Some(format.as_str()));
        }
    }

    // Multi-threaded because the OTLP exporter, if the environment configures one, needs it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn init_twice_does_not_panic() {
        let first = init("rapport-test", LogFormat::Json).expect("first init");
        let second = init("rapport-test", LogFormat::Pretty).expect("second init");
        assert!(second.provider.is_none());
        drop(second);
        drop(first);
    }
}
