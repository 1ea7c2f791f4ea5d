//! `GET /s3/multipart/{uploadId}/{partNumber}?key=`: one part URL (Companion's `signPart`).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, web};
use serde::Serialize;
use sluice_core::config::RouteClass;
use sluice_core::uppy::multipart;
use utoipa::ToSchema;

use super::error::CompanionProblem;
use super::{CompanionError, CompanionResult, KeyQuery, query};
use crate::auth::BrowserReader;
use crate::error::ApiError;
use crate::ratelimit::{guard, known};
use crate::state::AppState;

/// A presigned part URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignPartResponse {
    pub url: String,
    /// Seconds the URL stays valid.
    pub expires: u64,
    /// Headers to send verbatim (none: a part's length is signed as `content-length`,
    /// which the browser sets from the body).
    pub headers: BTreeMap<String, String>,
}

/// Sign one part.
///
/// Where the size was declared (`metadata.size`) the URL signs the part's exact length,
/// cut by `uppy.part_size`; otherwise the store bounds each part (5 GiB) and completion
/// checks the total against the profile's `max_size`.
#[utoipa::path(
    tag = "uppy",
    params(
        ("uploadId" = String, Path, description = "The store's multipart upload id"),
        ("partNumber" = u32, Path, minimum = 1, maximum = 10000, description = "1 to 10000"),
        KeyQuery,
    ),
    responses(
        (status = 200, body = SignPartResponse),
        (status = 400, body = CompanionProblem, description = "invalid_query"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused"),
        (status = 404, body = CompanionProblem, description = "not_found"),
        (status = 409, body = CompanionProblem, description = "not_multipart, not_pending"),
        (status = 410, body = CompanionProblem, description = "expired: the upload deadline passed; the session is `expired` now"),
        (status = 422, body = CompanionProblem, description = "invalid_part_number, validation_failed"),
        (status = 429, body = CompanionProblem, description = "rate_limited: over the `sign_part` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/s3/multipart/{uploadId}/{partNumber}")]
pub async fn uppy_sign_part(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserReader(who): BrowserReader,
    path: web::Path<(String, String)>,
) -> CompanionResult<HttpResponse> {
    let (upload_id, number) = path.into_inner();
    if number == "complete" {
        // `/s3/multipart/{uploadId}/complete` is the completion, which is POST only.
        let mut refused = CompanionError::from(ApiError::MethodNotAllowed).error_response();
        refused
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return Ok(refused);
    }
    let profile = known(&state.core.settings.uppy.profile);
    guard(&state, &req, RouteClass::SignPart, &who.owner, profile).await?;
    let KeyQuery { key } = query(&req)?;
    let n: u32 = number
        .parse()
        .map_err(|_| ApiError::invalid("partNumber", "partNumber: must be 1 to 10000"))?;
    let signed = multipart::sign_part(&state.core, &who, &key, &upload_id, n).await?;
    let expires = (signed.expires_at - state.core.now()).num_seconds().max(0);
    Ok(HttpResponse::Ok().json(SignPartResponse {
        url: signed.request.url,
        expires: u64::try_from(expires).unwrap_or(0),
        headers: signed
            .request
            .headers
            .into_iter()
            .filter(|(name, _)| name != "content-length")
            .collect(),
    }))
}
