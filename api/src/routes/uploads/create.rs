//! `POST /v1/uploads`: create a session and presign its upload.

use actix_web::{HttpRequest, HttpResponse, post, web};
use sluice_core::config::RouteClass;
use sluice_core::upload::create;

use crate::auth::Caller;
use crate::dto::{CreateUploadRequest, CreateUploadResponse};
use crate::error::{ApiResult, Problem};
use crate::ratelimit::{guard, known};
use crate::routes::validate;
use crate::state::AppState;

/// Create an upload session.
///
/// The profile decides the method (single PUT here) and the limits. The returned URL signs
/// `content-type`, `content-length` and, for one-time profiles, `if-none-match: *`: send
/// exactly the returned headers.
#[utoipa::path(
    tag = "uploads",
    request_body = CreateUploadRequest,
    responses(
        (status = 201, body = CreateUploadResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 403, body = Problem, description = "profile_not_allowed"),
        (status = 404, body = Problem, description = "unknown_profile"),
        (status = 413, body = Problem, description = "too_large"),
        (status = 415, body = Problem, description = "type_not_allowed, extension_not_allowed"),
        (status = 422, body = Problem, description = "validation_failed, missing_field, unknown_field, invalid_type"),
        (status = 429, body = Problem, description = "quota_exceeded: `quota` names the limit, its value and the usage; `Retry-After` for daily limits. rate_limited: over the `create` rate limit of the owner or the client IP; `Retry-After` says when to try again", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
        (status = 503, body = Problem, description = "storage_unavailable: a multipart upload could not be started"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads")]
pub async fn create_upload(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    body: web::Json<CreateUploadRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    guard(
        &state,
        &http,
        RouteClass::Create,
        &who.owner,
        known(&req.profile),
    )
    .await?;
    validate(&req)?;
    let created = create::create(&state.core, &who, req.into_core()?).await?;
    Ok(HttpResponse::Created().json(CreateUploadResponse::from(created)))
}
