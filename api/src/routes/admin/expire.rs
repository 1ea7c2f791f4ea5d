//! `POST /v1/admin/uploads/{id}/expire`: force-expire a live session.

use actix_web::{post, web};
use sluice_core::admin::session;
use sluice_core::ids::UploadId;
use uuid::Uuid;

use crate::auth::Operator;
use crate::dto::admin::AdminSessionResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Force-expire a session (admin).
///
/// A pending, verifying or uploaded session expires now, whatever its deadline; its
/// object and any multipart upload are cleaned as for any expiry. Audited as an admin
/// action.
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Upload id")),
    responses(
        (status = 200, body = AdminSessionResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "illegal_transition: the session is committed or ended"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/admin/uploads/{id}/expire")]
pub async fn expire_upload_admin(
    state: web::Data<AppState>,
    _: Operator,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<AdminSessionResponse>> {
    let detail = session::force_expire(&state.core, UploadId(id.into_inner())).await?;
    Ok(web::Json(detail.into()))
}
