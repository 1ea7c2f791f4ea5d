//! `DELETE /s3/multipart/{uploadId}?key=`: give up (Companion's `abortMultipartUpload`).
//! The session is `aborted`; its plan aborts the store's upload.

use actix_web::{HttpRequest, delete, web};
use sluice_core::uppy::multipart;

use super::error::CompanionProblem;
use super::{CompanionResult, KeyQuery, query};
use crate::auth::BrowserCaller;
use crate::state::AppState;

/// Abort a multipart upload.
#[utoipa::path(
    tag = "uppy",
    params(("uploadId" = String, Path, description = "The store's multipart upload id"), KeyQuery),
    responses(
        (status = 200, description = "Aborted: `{}`", body = Object),
        (status = 400, body = CompanionProblem, description = "invalid_query"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused"),
        (status = 404, body = CompanionProblem, description = "not_found"),
        (status = 409, body = CompanionProblem, description = "illegal_transition: already uploaded or ended"),
        (status = 410, body = CompanionProblem, description = "expired: the upload deadline passed; the session is `expired` now, not aborted"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/s3/multipart/{uploadId}")]
pub async fn uppy_abort_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserCaller(who): BrowserCaller,
    upload_id: web::Path<String>,
) -> CompanionResult<web::Json<serde_json::Value>> {
    let KeyQuery { key } = query(&req)?;
    multipart::abort(&state.core, &who, &key, &upload_id).await?;
    Ok(web::Json(serde_json::json!({})))
}
