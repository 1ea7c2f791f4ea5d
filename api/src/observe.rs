//! Per-request observation: a request id (the client's `X-Request-Id` when it is sane,
//! else a new one) on the response and on every log line of the request, the request's
//! span (a child of the caller's `traceparent` when telemetry is on), and the HTTP
//! metrics by route pattern, method and status.
//!
//! Invariant: the route label is the matched pattern with `{…}` turned into `:…`, or
//! `unmatched`; never the raw path, so ids never become label values.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The middleware; register with `middleware::from_fn(observe)`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let route = req
        .match_pattern()
        .map_or_else(|| "unmatched".to_owned(), |p| label_of(&p));
    let method = req.method().as_str().to_owned();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.core.metrics.clone());
    let span = tracing::info_span!("request", request_id = %id, %method, %route);
    // A caller's W3C `traceparent` makes this request part of its trace (telemetry on).
    sluice_core::telemetry::adopt(
        &span,
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "answered"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(m) = metrics {
        m.http_requests
            .with_label_values(&[&route, &method, &status.to_string()])
            .inc();
        m.http_seconds
            .with_label_values(&[&route])
            .observe(elapsed.as_secs_f64());
    }
    Ok(res)
}

/// A request id a client may choose: short, visible ASCII.
fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// `/v1/uploads/{id}/complete` → `/v1/uploads/:id/complete`.
fn label_of(pattern: &str) -> String {
    pattern.replace('{', ":").replace('}', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_have_no_braces_and_ids_must_be_sane() {
        assert_eq!(label_of("/v1/uploads/{id}/parts"), "/v1/uploads/:id/parts");
        assert!(sane("abc-123"));
        assert!(!sane(""));
        assert!(!sane("has space"));
        assert!(!sane(&"x".repeat(129)));
    }
}
