//! `POST /v1/files/{id}/download-url`: a short-lived presigned GET.

use actix_web::{HttpRequest, post, web};
use sluice_core::config::RouteClass;
use sluice_core::file::{DownloadRequest, service};
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{DownloadUrlRequest, DownloadUrlResponse};
use crate::error::{ApiResult, Problem};
use crate::extract::optional_json;
use crate::ratelimit::{file_profile, guard};
use crate::state::AppState;

/// Create a download URL. Its response carries `Content-Disposition` with the original
/// filename (ASCII fallback and RFC 5987 `filename*`) and the stored content type; a type
/// a browser would run (HTML, SVG, XML, scripts, anything not known to be passive) is an
/// `attachment` even when `inline` is asked, unless the profile allows it.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id")),
    request_body(content = Option<DownloadUrlRequest>, description = "Optional"),
    responses(
        (status = 200, body = DownloadUrlResponse),
        (status = 404, body = Problem, description = "not_found"),
        (status = 422, body = Problem, description = "validation_failed, invalid_type, unknown_field"),
        (status = 429, body = Problem, description = "rate_limited: over the `download` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []))
)]
#[post("/v1/files/{id}/download-url")]
pub async fn create_download_url(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<web::Json<DownloadUrlResponse>> {
    let id = FileId(id.into_inner());
    let profile = || file_profile(&state, id, &who);
    guard(&state, &http, RouteClass::Download, &who.owner, profile).await?;
    let req: DownloadUrlRequest = optional_json(&body)?;
    let options = DownloadRequest {
        disposition: req.disposition,
        ttl_seconds: req.ttl_seconds,
    };
    let link = service::download_link(&state.core, &who, id, options).await?;
    Ok(web::Json(link.into()))
}
