//! `GET /v1/uploads/{id}`: the caller's session.

use actix_web::{get, web};
use sluice_core::ids::UploadId;
use sluice_core::upload::service;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::SessionResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read an upload session.
///
/// A pending multipart upload also lists the parts the store holds (`uploaded_parts`),
/// so a client that lost everything but the id can resume.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    responses(
        (status = 200, body = SessionResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 503, body = Problem, description = "storage_unavailable: the parts of a pending multipart upload could not be listed"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/uploads/{id}")]
pub async fn get_upload(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<SessionResponse>> {
    let session = service::get(&state.core, &who, UploadId(id.into_inner())).await?;
    Ok(web::Json(session.into()))
}
