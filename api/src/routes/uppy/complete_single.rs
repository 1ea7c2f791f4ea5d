//! `POST /s3/params/complete?key=`: Sluice's one addition to Companion's routes. Uppy
//! calls nothing after a `/s3/params` upload, so the page (on Uppy's `upload-success`)
//! or the application's backend says it is done; the session is then verified like any
//! other (size up to the reservation, type, magic bytes).

use actix_web::{HttpRequest, HttpResponse, post, web};
use sluice_core::config::RouteClass;
use sluice_core::uppy::params;

use super::complete::{CompletedResponse, completed};
use super::error::CompanionProblem;
use super::{CompanionResult, KeyQuery, query};
use crate::auth::BrowserCaller;
use crate::ratelimit::{guard, known};
use crate::state::AppState;

/// Complete a `/s3/params` upload.
#[utoipa::path(
    tag = "uppy",
    params(KeyQuery),
    responses(
        (status = 200, body = CompletedResponse),
        (status = 202, body = CompletedResponse, description = "verifying: a job finishes the verification"),
        (status = 400, body = CompanionProblem, description = "invalid_query"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused"),
        (status = 404, body = CompanionProblem, description = "not_found"),
        (status = 409, body = CompanionProblem, description = "not_uploaded, illegal_transition"),
        (status = 410, body = CompanionProblem, description = "expired: the upload deadline passed; the session is `expired` now"),
        (status = 422, body = CompanionProblem, description = "size_mismatch, type_mismatch"),
        (status = 429, body = CompanionProblem, description = "rate_limited: over the `complete` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/s3/params/complete")]
pub async fn uppy_complete_params(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserCaller(who): BrowserCaller,
) -> CompanionResult<HttpResponse> {
    let profile = known(&state.core.settings.uppy.profile);
    guard(&state, &req, RouteClass::Complete, &who.owner, profile).await?;
    let KeyQuery { key } = query(&req)?;
    let outcome = params::complete_single(&state.core, &who, &key).await?;
    Ok(completed(&req, outcome))
}
