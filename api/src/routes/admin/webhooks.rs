//! `/v1/admin/webhooks`: deliveries with their attempts, replays, endpoint health, pause
//! and resume (admin keys only).

use actix_web::{get, post, web};
use sluice_core::webhooks::operate;

use crate::auth::Operator;
use crate::dto::webhooks::{
    DeliveryListQuery, DeliveryListResponse, DeliveryResponse, EndpointHealthResponse,
    EndpointsResponse, ReplayRequest, ReplayResponse,
};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// List webhook deliveries (admin).
///
/// Newest first, each with every attempt (status, latency, error, the start of the
/// answer). Filters combine; pass `next_cursor` back as `cursor` for the next page.
#[utoipa::path(
    tag = "admin",
    params(DeliveryListQuery),
    responses(
        (status = 200, body = DeliveryListResponse),
        (status = 400, body = Problem, description = "invalid_query"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 422, body = Problem, description = "validation_failed: a filter, the limit or the cursor"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/admin/webhooks/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    _: Operator,
    query: web::Query<DeliveryListQuery>,
) -> ApiResult<web::Json<DeliveryListResponse>> {
    let query = query.into_inner();
    let filter = query.filter()?;
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let page = operate::list(&state.core, &filter, query.limit, cursor).await?;
    Ok(web::Json(page.into()))
}

/// Send a delivery again (admin).
///
/// A delivered or given-up delivery becomes pending with a fresh retry schedule and goes
/// out now, with its original `webhook-id`, so receivers stay idempotent.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, body = DeliveryResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "conflict: another replay moved it first"),
        (status = 422, body = Problem, description = "validation_failed: the delivery is still pending"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/admin/webhooks/deliveries/{id}/replay")]
pub async fn replay_webhook_delivery(
    state: web::Data<AppState>,
    _: Operator,
    id: web::Path<i64>,
) -> ApiResult<web::Json<DeliveryResponse>> {
    let view = operate::replay(&state.core, id.into_inner()).await?;
    Ok(web::Json(view.into()))
}

/// Health of every configured endpoint (admin).
#[utoipa::path(
    tag = "admin",
    responses(
        (status = 200, body = EndpointsResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
    ),
    security(("bearer" = []))
)]
#[get("/v1/admin/webhooks/endpoints")]
pub async fn list_webhook_endpoints(
    state: web::Data<AppState>,
    _: Operator,
) -> ApiResult<web::Json<EndpointsResponse>> {
    endpoints(&state).await
}

/// Send every given-up delivery of an endpoint since a time again (admin).
#[utoipa::path(
    tag = "admin",
    params(("name" = String, Path, description = "Endpoint name")),
    request_body = ReplayRequest,
    responses(
        (status = 200, body = ReplayResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found: no endpoint of this name is configured"),
        (status = 422, body = Problem, description = "validation_failed, missing_field, invalid_type"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/admin/webhooks/endpoints/{name}/replay")]
pub async fn replay_webhook_endpoint(
    state: web::Data<AppState>,
    _: Operator,
    name: web::Path<String>,
    body: web::Json<ReplayRequest>,
) -> ApiResult<web::Json<ReplayResponse>> {
    let replayed = operate::replay_failed(&state.core, &name, body.since).await?;
    Ok(web::Json(ReplayResponse { replayed }))
}

/// Pause an endpoint (admin): its deliveries wait, unattempted, until it is resumed.
#[utoipa::path(
    tag = "admin",
    params(("name" = String, Path, description = "Endpoint name")),
    responses(
        (status = 200, body = EndpointsResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found: no endpoint of this name is configured"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/admin/webhooks/endpoints/{name}/pause")]
pub async fn pause_webhook_endpoint(
    state: web::Data<AppState>,
    _: Operator,
    name: web::Path<String>,
) -> ApiResult<web::Json<EndpointsResponse>> {
    operate::pause(&state.core, &name).await?;
    endpoints(&state).await
}

/// Resume a paused endpoint (admin): what waited goes out, in order per session.
#[utoipa::path(
    tag = "admin",
    params(("name" = String, Path, description = "Endpoint name")),
    responses(
        (status = 200, body = EndpointsResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "forbidden: not an admin key"),
        (status = 404, body = Problem, description = "not_found: no endpoint of this name is configured"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/admin/webhooks/endpoints/{name}/resume")]
pub async fn resume_webhook_endpoint(
    state: web::Data<AppState>,
    _: Operator,
    name: web::Path<String>,
) -> ApiResult<web::Json<EndpointsResponse>> {
    operate::resume(&state.core, &name).await?;
    endpoints(&state).await
}

async fn endpoints(state: &AppState) -> ApiResult<web::Json<EndpointsResponse>> {
    let endpoints = operate::health(&state.core).await?;
    Ok(web::Json(EndpointsResponse {
        endpoints: endpoints
            .into_iter()
            .map(EndpointHealthResponse::from)
            .collect(),
    }))
}
