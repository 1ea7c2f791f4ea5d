//! `GET /healthz`: the process is up. Touches nothing else, so it never flaps.

use actix_web::{HttpResponse, get};

/// Liveness.
#[utoipa::path(tag = "operations", responses((status = 200, description = "the process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
