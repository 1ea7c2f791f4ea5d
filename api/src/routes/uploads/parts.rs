//! `POST /v1/uploads/{id}/parts`: sign part URLs of a pending multipart upload.

use actix_web::{post, web};
use sluice_core::ids::UploadId;
use sluice_core::upload::parts;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{SignPartsRequest, SignPartsResponse};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Sign part URLs.
///
/// Any subset of the plan's part numbers, at any time while the upload is pending, again
/// after a URL expired. Each URL signs its part's exact length (`size`, sent as
/// `content-length`): the store refuses any other length. URLs never outlive the
/// upload's deadline.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    request_body = SignPartsRequest,
    responses(
        (status = 200, body = SignPartsResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "not_multipart, not_pending"),
        (status = 422, body = Problem, description = "invalid_part_number, validation_failed"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/{id}/parts")]
pub async fn sign_upload_parts(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    body: web::Json<SignPartsRequest>,
) -> ApiResult<web::Json<SignPartsResponse>> {
    let signed = parts::sign(
        &state.core,
        &who,
        UploadId(id.into_inner()),
        &body.part_numbers,
    )
    .await?;
    Ok(web::Json(signed.into()))
}
