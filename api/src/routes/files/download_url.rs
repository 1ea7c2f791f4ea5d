//! `POST /v1/files/{id}/download-url`: a short-lived presigned GET.

use actix_web::{post, web};
use sluice_core::file::{DownloadRequest, service};
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{DownloadUrlRequest, DownloadUrlResponse};
use crate::error::{ApiResult, Problem};
use crate::extract::optional_json;
use crate::state::AppState;

/// Create a download URL. Its response carries `Content-Disposition` with the original
/// filename (ASCII fallback and RFC 5987 `filename*`) and the stored content type.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id")),
    request_body(content = Option<DownloadUrlRequest>, description = "Optional"),
    responses(
        (status = 200, body = DownloadUrlResponse),
        (status = 404, body = Problem, description = "not_found"),
        (status = 422, body = Problem, description = "validation_failed, invalid_type, unknown_field"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/files/{id}/download-url")]
pub async fn create_download_url(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<web::Json<DownloadUrlResponse>> {
    let req: DownloadUrlRequest = optional_json(&body)?;
    let options = DownloadRequest {
        disposition: req.disposition,
        ttl_seconds: req.ttl_seconds,
    };
    let link = service::download_link(&state.core, &who, FileId(id.into_inner()), options).await?;
    Ok(web::Json(link.into()))
}
