//! OpenTelemetry export (the `otel` cargo feature): when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set, the host's tracing spans (`run`, `tool_call`) go to that OTLP/HTTP
//! endpoint as JSON, under `service.name` `mcp-code-runtime`, batched on a
//! thread of their own. It owns only that export: which spans exist and their
//! fields belong to the modules that make them, and nothing here writes to
//! stdout (the MCP channel).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

/// The `service.name` of the exported spans.
pub const SERVICE_NAME: &str = "mcp-code-runtime";

/// The environment variables that turn the export on.
const ENDPOINT_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];

#[derive(Debug, thiserror::Error)]
#[error("cannot export traces over OTLP: {0}")]
pub struct TelemetryError(#[from] ExporterBuildError);

/// The export's handle: [`Telemetry::shutdown`] sends the spans not sent yet.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Sends the spans still batched and stops the export. Call it outside
    /// the tokio runtime: the HTTP client blocks.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!("the last traces were not exported: {error}");
        }
    }
}

/// The layer exporting this crate's spans (and its warnings, as span
/// events), with its handle, when an OTLP endpoint is set in the environment.
pub fn from_env<S>() -> Result<Option<(impl Layer<S>, Telemetry)>, TelemetryError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    if !ENDPOINT_VARIABLES.iter().any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty())) {
        return Ok(None);
    }
    // The exporter reads the endpoint (adding `/v1/traces`) and headers from the environment.
    let exporter = SpanExporter::builder().with_http().with_protocol(Protocol::HttpJson).build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build();
    let own = |metadata: &tracing::Metadata<'_>| {
        metadata.target().starts_with(env!("CARGO_CRATE_NAME")) && (metadata.is_span() || *metadata.level() <= tracing::Level::WARN)
    };
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME)).with_filter(filter_fn(own));
    Ok(Some((layer, Telemetry { provider })))
}
