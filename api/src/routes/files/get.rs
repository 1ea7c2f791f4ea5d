//! `GET /v1/files/{id}`: a committed file's metadata.

use actix_web::{get, web};
use sluice_core::file::service;
use sluice_core::ids::FileId;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::FileResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read a file.
#[utoipa::path(
    tag = "files",
    params(("id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, body = FileResponse),
        (status = 404, body = Problem, description = "not_found"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/files/{id}")]
pub async fn get_file(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<FileResponse>> {
    let file = service::get(&state.core, &who, FileId(id.into_inner())).await?;
    Ok(web::Json(file.into()))
}
