//! `DELETE /v1/files/{id}`: object deleted, session `deleted`.

use actix_web::{HttpResponse, delete, web};
use sluice_core::file::service;
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a file.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = Problem, description = "not_found"),
    ),
    security(("bearer" = []))
)]
#[delete("/v1/files/{id}")]
pub async fn delete_file(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    service::delete(&state.core, &who, FileId(id.into_inner())).await?;
    Ok(HttpResponse::NoContent().finish())
}
