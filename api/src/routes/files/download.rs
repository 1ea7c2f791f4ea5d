//! `GET /v1/files/{id}/download`: 302 to a fresh download URL.

use actix_web::{HttpRequest, HttpResponse, get, web};
use sluice_core::config::RouteClass;
use sluice_core::file::{DownloadRequest, service};
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::DownloadUrlRequest;
use crate::error::{ApiResult, Problem};
use crate::ratelimit::{file_profile, guard};
use crate::state::AppState;

/// Redirect to a download URL.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id"), DownloadUrlRequest),
    responses(
        (status = 302, description = "Location is the presigned download URL"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 400, body = Problem, description = "invalid_query"),
        (status = 429, body = Problem, description = "rate_limited: over the `download` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []))
)]
#[get("/v1/files/{id}/download")]
pub async fn download_file(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    query: web::Query<DownloadUrlRequest>,
) -> ApiResult<HttpResponse> {
    let id = FileId(id.into_inner());
    let profile = || file_profile(&state, id, &who);
    guard(&state, &http, RouteClass::Download, &who.owner, profile).await?;
    let options = DownloadRequest {
        disposition: query.disposition,
        ttl_seconds: query.ttl_seconds,
    };
    let link = service::download_link(&state.core, &who, id, options).await?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", link.url))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}
