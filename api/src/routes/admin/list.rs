//! `GET /v1/admin/uploads`: sessions of every owner, filtered, newest first, paged.

use actix_web::{get, web};
use sluice_core::admin::list;

use crate::auth::Operator;
use crate::dto::admin::{AdminListQuery, AdminListResponse};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// List sessions (admin).
///
/// Filters combine; `state` takes a comma-separated list. Newest first; pass
/// `next_cursor` back as `cursor` for the next page (every matching session exactly once,
/// even while new ones are created).
#[utoipa::path(
    tag = "admin",
    params(AdminListQuery),
    responses(
        (status = 200, body = AdminListResponse),
        (status = 400, body = Problem, description = "invalid_query"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 422, body = Problem, description = "validation_failed: a filter, the limit or the cursor"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/admin/uploads")]
pub async fn list_uploads_admin(
    state: web::Data<AppState>,
    _: Operator,
    query: web::Query<AdminListQuery>,
) -> ApiResult<web::Json<AdminListResponse>> {
    let query = query.into_inner();
    let filter = query.filter()?;
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let page = list::list(&state.core, &filter, query.limit, cursor).await?;
    Ok(web::Json(page.into()))
}
