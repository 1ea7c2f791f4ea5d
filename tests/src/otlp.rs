//! `OtlpReceiver`: an OTLP/HTTP trace receiver of the tests' own (`POST /v1/traces`,
//! protobuf `ExportTraceServiceRequest`), keeping every span it is sent, so a test can
//! check which spans one trace holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;

/// One span as received.
#[derive(Clone, Debug)]
pub struct SeenSpan {
    /// Lower-case hex.
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// String, integer and boolean attributes, as text.
    pub attributes: BTreeMap<String, String>,
    /// The resource's `service.name`.
    pub service: String,
}

pub struct OtlpReceiver {
    /// Base URL, as `telemetry.otlp_endpoint` takes it.
    pub url: String,
    spans: Arc<Mutex<Vec<SeenSpan>>>,
    server: actix_web::dev::ServerHandle,
}

impl OtlpReceiver {
    /// Starts on a free loopback port (inside an actix runtime).
    pub async fn start() -> OtlpReceiver {
        let spans: Arc<Mutex<Vec<SeenSpan>>> = Arc::default();
        let state = web::Data::new(spans.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .route("/v1/traces", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("OTLP receiver binds");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        OtlpReceiver {
            url: format!("http://{addr}"),
            spans,
            server: handle,
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<SeenSpan> {
        self.spans.lock().expect("spans lock").clone()
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn receive(spans: web::Data<Arc<Mutex<Vec<SeenSpan>>>>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut seen = Vec::new();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
            .and_then(|a| a.value.as_ref())
            .and_then(|v| text(v.value.as_ref()))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                seen.push(SeenSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    attributes: span
                        .attributes
                        .iter()
                        .filter_map(|a| {
                            let value = text(a.value.as_ref()?.value.as_ref())?;
                            Some((a.key.clone(), value))
                        })
                        .collect(),
                    service: service.clone(),
                });
            }
        }
    }
    spans.lock().expect("spans lock").extend(seen);
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        AnyValue::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
