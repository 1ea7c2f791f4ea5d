//! `DELETE /v1/files/{id}`: object deleted, session `deleted`.

use actix_web::{HttpResponse, delete, web};
use sluice_core::file::service;
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Delete a file.
///
/// Exactly one of several identical deletes answers 204; the others, like any later
/// delete of the file, answer 404 `not_found`.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, body = Problem, description = "not_found: no such file, or it was already deleted (also by a delete racing this one)"),
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
