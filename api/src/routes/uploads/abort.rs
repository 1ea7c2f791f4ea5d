//! `POST /v1/uploads/{id}/abort`: give up; any stored object is deleted.

use actix_web::{post, web};
use sluice_core::ids::UploadId;
use sluice_core::upload::service;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::SessionResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Abort an upload.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    responses(
        (status = 200, body = SessionResponse),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "illegal_transition"),
        (status = 410, body = Problem, description = "expired: the session's deadline passed; it is `expired` now, not aborted"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/{id}/abort")]
pub async fn abort_upload(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<SessionResponse>> {
    let session = service::abort(&state.core, &who, UploadId(id.into_inner())).await?;
    Ok(web::Json(session.into()))
}
