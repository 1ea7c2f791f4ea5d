//! `GET /v1/uploads/{id}`: the caller's session.

use actix_web::{get, web};
use sluice_core::ids::UploadId;
use sluice_core::upload::service;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{GetUploadQuery, SessionResponse};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read an upload session.
///
/// With `?parts=true`, a pending multipart upload also lists the parts the store holds
/// (`uploaded_parts`), so a client that lost everything but the id can resume. Without
/// it, reading a session costs no store request, however often it is polled.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id"), GetUploadQuery),
    responses(
        (status = 200, body = SessionResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 503, body = Problem, description = "storage_unavailable: the parts asked for could not be listed"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/uploads/{id}")]
pub async fn get_upload(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    query: web::Query<GetUploadQuery>,
) -> ApiResult<web::Json<SessionResponse>> {
    let with_parts = query.parts.unwrap_or(false);
    let session = service::get(&state.core, &who, UploadId(id.into_inner()), with_parts).await?;
    Ok(web::Json(session.into()))
}
