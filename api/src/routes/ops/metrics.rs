//! `GET /metrics`: Prometheus text exposition.

use actix_web::{HttpResponse, get, web};

use crate::error::ApiResult;
use crate::state::AppState;

/// Prometheus metrics.
///
/// HTTP requests and latency by route, URLs signed by kind, store calls by operation and
/// outcome (HEAD and GET apart: both are billed), bytes declared, verified, committed and
/// deleted, sessions by state, the job table, job runs and latency by kind, cleanups owed.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 500, body = crate::error::Problem, content_type = "application/problem+json", description = "internal_error: the database did not answer"),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let text = sluice_core::metrics::render(&state.core).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
