//! `GET /v1/admin/uploads/{id}`: any session with its audit trail.

use actix_web::{get, web};
use sluice_core::admin::session;
use sluice_core::ids::UploadId;
use uuid::Uuid;

use crate::auth::Operator;
use crate::dto::admin::AdminSessionResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read a session and its audit trail (admin).
#[utoipa::path(
    tag = "admin",
    params(("id" = Uuid, Path, description = "Upload id")),
    responses(
        (status = 200, body = AdminSessionResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/admin/uploads/{id}")]
pub async fn get_upload_admin(
    state: web::Data<AppState>,
    _: Operator,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<AdminSessionResponse>> {
    let detail = session::detail(&state.core, UploadId(id.into_inner())).await?;
    Ok(web::Json(detail.into()))
}
