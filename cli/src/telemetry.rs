//! The OpenTelemetry exporter: with `telemetry.otlp_endpoint` set, spans (every request,
//! job, database transaction and store call; see `sluice_core::telemetry`) are batched
//! and sent as OTLP/HTTP protobuf to `{otlp_endpoint}/v1/traces`, from the SDK's own
//! background thread. Unset: nothing here is built, and no span is exported.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use sluice_core::config::TelemetrySettings;

/// The running exporter; `shutdown` sends what is still batched.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// The exporter and the tracing layer that feeds it, when telemetry is configured.
    pub fn start<S>(
        settings: &TelemetrySettings,
    ) -> anyhow::Result<
        Option<(
            Self,
            tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
        )>,
    >
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let Some(endpoint) = &settings.otlp_endpoint else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()
            .context("telemetry.otlp_endpoint: cannot build the OTLP exporter")?;
        // New traces by ratio; a remote parent's decision (a caller's `traceparent`, a job
        // row's stored one) is followed, so a trace is never cut in half.
        let sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sample_ratio)));
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(settings.service_name.clone())
                    .build(),
            )
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("sluice"));
        sluice_core::telemetry::enable();
        Ok(Some((Self { provider }, layer)))
    }

    /// Flushes the batch and stops the exporter (at exit).
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("sluice: telemetry: {e}");
        }
    }
}
