//! `POST /v1/uploads/{id}/complete`: the client says the bytes are up.

use actix_web::{HttpRequest, HttpResponse, post, web};
use sluice_core::CoreError;
use sluice_core::config::RouteClass;
use sluice_core::ids::UploadId;
use sluice_core::storage::PartEtag;
use sluice_core::upload::checksum::Sha256Digest;
use sluice_core::upload::{CompleteOutcome, service};
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{CompleteRequest, SessionResponse};
use crate::error::{ApiResult, Problem};
use crate::extract::optional_json;
use crate::ratelimit::{guard, session_profile};
use crate::state::AppState;

/// Complete an upload: Sluice checks what the store holds.
///
/// 200 with the session `uploaded` when the object is right; 422 (`size_mismatch`,
/// `type_mismatch`) with the session `rejected` and the object deleted; 409 `not_uploaded`
/// when nothing is stored yet; 202 `verifying` when the store cannot be asked now (a job
/// finishes it); 410 `expired` past the upload deadline (the session expires then, worker
/// or not). Completing again, or in parallel, answers with the same final state.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    request_body(content = Option<CompleteRequest>, description = "Optional; ignored for single PUT uploads"),
    responses(
        (status = 200, body = SessionResponse),
        (status = 202, body = SessionResponse, description = "verification deferred"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "not_uploaded, parts_missing, illegal_transition, conflict"),
        (status = 410, body = Problem, description = "expired: the upload deadline (or a verifying session's verification deadline) passed; the session is `expired` now"),
        (status = 422, body = Problem, description = "size_mismatch, type_mismatch, checksum_mismatch"),
        (status = 429, body = Problem, description = "rate_limited: over the `complete` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/{id}/complete")]
pub async fn complete_upload(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let id = UploadId(id.into_inner());
    let profile = || session_profile(&state, id, &who);
    guard(&state, &http, RouteClass::Complete, &who.owner, profile).await?;
    // Sluice lists the parts itself; the client's ETags are used only where the store
    // does not report its own.
    let request: CompleteRequest = optional_json(&body)?;
    let mut client_parts = Vec::with_capacity(request.parts.len());
    for p in request.parts {
        let checksum_sha256 = match p.sha256.as_deref() {
            None => None,
            Some(text) => Some(
                Sha256Digest::parse(text)
                    .ok_or_else(|| {
                        CoreError::invalid(
                            "parts",
                            format!(
                                "part {}: sha256 is neither 64 hex digits nor base64 of 32 bytes",
                                p.part_number
                            ),
                        )
                    })?
                    .base64(),
            ),
        };
        client_parts.push(PartEtag {
            part_number: p.part_number,
            etag: p.etag,
            checksum_sha256,
        });
    }
    let outcome: CompleteOutcome = service::complete(&state.core, &who, id, &client_parts).await?;
    let mut answer = if outcome.settled() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    Ok(answer.json(SessionResponse::from(outcome.into_view())))
}
