//! `GET /metrics`: Prometheus text exposition. Open by default (as before); with
//! `ops.metrics_token` set it answers only that bearer token or an admin key. Its
//! database gauges are read at most once per `ops.probe_cache`, so scraping, by anyone,
//! costs the database at most one round of count queries per window.

use actix_web::{HttpRequest, HttpResponse, get, web};
use secrecy::ExposeSecret;
use sluice_core::auth::{AuthError, Credential};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Prometheus metrics.
///
/// HTTP requests and latency by route, URLs signed by kind, store calls by operation and
/// outcome (HEAD and GET apart: both are billed), bytes declared, verified, committed and
/// deleted, sessions by state, the job table, job runs and latency by kind, cleanups owed.
/// Where the operator set `ops.metrics_token`, only `Authorization: Bearer <that token>`
/// or an admin key is answered.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json", description = "unauthorized: `ops.metrics_token` is set and neither it nor an admin key was sent"),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json", description = "forbidden: `ops.metrics_token` is set and an upload token or service key was sent"),
        (status = 500, body = crate::error::Problem, content_type = "application/problem+json", description = "internal_error: the database did not answer"),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    allowed(&state, &req)?;
    let text = sluice_core::metrics::render(&state.core).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Open unless `ops.metrics_token` is set; then that token or an admin key.
fn allowed(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(token) = &state.core.settings.ops.metrics_token else {
        return Ok(());
    };
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let bearer = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized(AuthError::Missing))?;
    if constant_time_eq(token.expose_secret().as_bytes(), bearer.as_bytes()) {
        return Ok(());
    }
    match state.auth.authenticate(header) {
        Ok(Credential::Admin) => Ok(()),
        Ok(Credential::Service | Credential::Token { .. }) => Err(ApiError::Forbidden(
            "only the metrics token or an admin key may read /metrics",
        )),
        Err(e) => Err(ApiError::Unauthorized(e)),
    }
}

/// Compares without stopping at the first difference, so timing says nothing about the
/// token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
