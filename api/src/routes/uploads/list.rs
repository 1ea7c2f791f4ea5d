//! `GET /v1/uploads`: the caller's own sessions, filtered, newest first, paged.

use actix_web::{get, web};
use sluice_core::upload::list::list_own;

use crate::auth::Caller;
use crate::dto::own_list::{OwnListQuery, OwnListResponse};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// List your own upload sessions.
///
/// To go on with an upload started on another device: `?state=pending&filename=…&size=…`
/// (and `sha256` where it was declared) finds its session; `GET /v1/uploads/{id}?parts=true`
/// then lists the parts the store holds, and only the others need sending. Only the
/// caller's sessions, of the profiles its token may use. Newest first; pass `next_cursor`
/// back as `cursor` for the next page.
#[utoipa::path(
    tag = "uploads",
    params(OwnListQuery),
    responses(
        (status = 200, body = OwnListResponse),
        (status = 400, body = Problem, description = "invalid_query"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 422, body = Problem, description = "validation_failed: a filter, the limit or the cursor"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/uploads")]
pub async fn list_uploads(
    state: web::Data<AppState>,
    Caller(who): Caller,
    query: web::Query<OwnListQuery>,
) -> ApiResult<web::Json<OwnListResponse>> {
    let query = query.into_inner();
    let filter = query.filter()?;
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let page = list_own(&state.core, &who, filter, query.limit, cursor).await?;
    Ok(web::Json(page.into()))
}
