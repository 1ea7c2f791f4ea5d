//! `GET /v1/quota`: the caller's limits and usage, per profile and in total.

use actix_web::{get, web};
use sluice_core::quota::service;

use crate::auth::Caller;
use crate::dto::QuotaResponse;
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Read your quota.
///
/// Uploads and bytes counted today (UTC; uploads that ended rejected, aborted or expired
/// do not count), bytes stored, and bytes reserved by uploads in progress, against the
/// limits of each profile the caller may use and of the owner's total.
#[utoipa::path(
    tag = "quota",
    responses(
        (status = 200, body = QuotaResponse),
        (status = 401, body = Problem, description = "unauthorized"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/quota")]
pub async fn get_quota(
    state: web::Data<AppState>,
    Caller(who): Caller,
) -> ApiResult<web::Json<QuotaResponse>> {
    Ok(web::Json(service::quota(&state.core, &who).await?.into()))
}
