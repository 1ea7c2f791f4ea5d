//! `GET /v1/batches/{id}`: the caller's batch, counted by state.

use actix_web::{get, web};
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::batch::BatchResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read a batch: how many of its sessions are in each state, and whether all of them are
/// `uploaded` or ended.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Batch id")),
    responses(
        (status = 200, body = BatchResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 404, body = Problem, description = "not_found: no batch of the caller's with this id"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/batches/{id}")]
pub async fn get_batch(
    state: web::Data<AppState>,
    Caller(who): Caller,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<BatchResponse>> {
    let summary = sluice_core::batch::summary(&state.core, &who, id.into_inner()).await?;
    Ok(web::Json(summary.into()))
}
