//! `POST /v1/uploads/{id}/commit`: the application keeps the file.

use actix_web::{post, web};
use sluice_core::file::service;
use sluice_core::ids::UploadId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::FileResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Commit an uploaded session; returns the file. Only from `uploaded`.
///
/// Committing again, or in parallel, returns the same file. Past the commit deadline the
/// session expires then (worker or not) and the answer is 410 `expired`.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    responses(
        (status = 200, body = FileResponse),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "illegal_transition"),
        (status = 410, body = Problem, description = "expired: the commit deadline passed; the session is `expired` now"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/{id}/commit")]
pub async fn commit_upload(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<FileResponse>> {
    let file = service::commit(&state.core, &who, UploadId(id.into_inner())).await?;
    Ok(web::Json(file.into()))
}
