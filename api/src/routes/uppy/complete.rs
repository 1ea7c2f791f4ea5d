//! `POST /s3/multipart/{uploadId}/complete?key=`: assemble and verify (Companion's
//! `completeMultipartUpload`). Sluice lists the parts itself; the body's ETags are used
//! only where the store reports none.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use sluice_core::config::RouteClass;
use sluice_core::storage::PartEtag;
use sluice_core::upload::{CompleteOutcome, SessionView};
use sluice_core::uppy::multipart;
use utoipa::ToSchema;

use super::error::CompanionProblem;
use super::{CompanionResult, KeyQuery, json_body, query, session_url};
use crate::auth::BrowserCaller;
use crate::ratelimit::{guard, known};
use crate::state::AppState;

/// The parts Uppy uploaded.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CompleteMultipartRequest {
    #[serde(default)]
    pub parts: Vec<UppyPartEtag>,
}

/// One part as Uppy reports it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UppyPartEtag {
    #[serde(rename = "PartNumber", deserialize_with = "crate::dto::int::u32")]
    #[schema(minimum = 1, maximum = 10000)]
    pub part_number: u32,
    #[serde(rename = "ETag", default)]
    pub etag: String,
}

/// The completed upload (Companion's names, plus the session).
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletedResponse {
    /// The session in Sluice's API (`GET` it, commit it with a service key).
    pub location: String,
    pub key: String,
    /// The session id.
    pub id: String,
    /// `uploaded`, or `verifying` (202) when the store could not be asked yet.
    pub state: &'static str,
    /// The verified size in bytes.
    pub size: u64,
}

/// The answer to a completion: 200 verified, 202 left to a job (a deferred verification,
/// or the malware scan).
pub fn completed(req: &HttpRequest, outcome: CompleteOutcome) -> HttpResponse {
    let mut builder = if outcome.settled() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    let view: SessionView = outcome.into_view();
    builder.json(CompletedResponse {
        location: session_url(req, view.id),
        key: view.key,
        id: view.id.to_string(),
        state: view.state.as_str(),
        size: view.size,
    })
}

/// Complete a multipart upload.
#[utoipa::path(
    tag = "uppy",
    params(("uploadId" = String, Path, description = "The store's multipart upload id"), KeyQuery),
    request_body = CompleteMultipartRequest,
    responses(
        (status = 200, body = CompletedResponse),
        (status = 202, body = CompletedResponse, description = "verifying: a job finishes the verification"),
        (status = 400, body = CompanionProblem, description = "invalid_query, malformed_json"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused"),
        (status = 404, body = CompanionProblem, description = "not_found"),
        (status = 409, body = CompanionProblem, description = "not_uploaded, parts_missing, illegal_transition"),
        (status = 410, body = CompanionProblem, description = "expired: the upload deadline passed; the session is `expired` now"),
        (status = 422, body = CompanionProblem, description = "size_mismatch (more than the profile's max_size, or parts off their cut), type_mismatch, invalid_type"),
        (status = 429, body = CompanionProblem, description = "rate_limited: over the `complete` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/s3/multipart/{uploadId}/complete")]
pub async fn uppy_complete_multipart(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserCaller(who): BrowserCaller,
    upload_id: web::Path<String>,
    body: web::Bytes,
) -> CompanionResult<HttpResponse> {
    let profile = known(&state.core.settings.uppy.profile);
    guard(&state, &req, RouteClass::Complete, &who.owner, profile).await?;
    let KeyQuery { key } = query(&req)?;
    let body: CompleteMultipartRequest = json_body(&body)?;
    let parts: Vec<PartEtag> = body
        .parts
        .into_iter()
        .map(|p| PartEtag {
            part_number: p.part_number,
            etag: p.etag,
            checksum_sha256: None,
        })
        .collect();
    let outcome = multipart::complete(&state.core, &who, &key, &upload_id, &parts).await?;
    Ok(completed(&req, outcome))
}
