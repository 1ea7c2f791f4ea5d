//! `GET /v1/admin/stats`: counts and bytes per state, per profile and per day.

use actix_web::{get, web};
use sluice_core::admin::stats;

use crate::auth::Operator;
use crate::dto::admin::{AdminStatsQuery, AdminStatsResponse};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// Upload statistics (admin).
///
/// Read from a rollup the workers recompute every `admin.stats_interval` (`computed_at`
/// says when); `fresh=true` computes them now, which takes a while on millions of
/// sessions.
#[utoipa::path(
    tag = "admin",
    params(AdminStatsQuery),
    responses(
        (status = 200, body = AdminStatsResponse),
        (status = 400, body = Problem, description = "invalid_query"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 422, body = Problem, description = "validation_failed: days"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/admin/stats")]
pub async fn upload_stats_admin(
    state: web::Data<AppState>,
    _: Operator,
    query: web::Query<AdminStatsQuery>,
) -> ApiResult<web::Json<AdminStatsResponse>> {
    let days = query.days.unwrap_or(30);
    let fresh = query.fresh.unwrap_or(false);
    Ok(web::Json(
        stats::stats(&state.core, days, fresh).await?.into(),
    ))
}
