//! `POST /v1/uploads/{id}/parts`: sign part URLs of a pending multipart upload.

use actix_web::{HttpRequest, post, web};
use sluice_core::CoreError;
use sluice_core::config::RouteClass;
use sluice_core::ids::UploadId;
use sluice_core::upload::checksum::Sha256Digest;
use sluice_core::upload::parts;
use std::collections::BTreeMap;

/// The most part digests one signing request takes: with the 1,000 part numbers it may
/// name, the body stays within the 64 KiB a JSON body may have.
const MAX_PART_CHECKSUMS: usize = 500;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{SignPartsRequest, SignPartsResponse};
use crate::error::{ApiResult, Problem};
use crate::ratelimit::{guard, session_profile};
use crate::state::AppState;

/// Sign part URLs.
///
/// Any subset of the plan's part numbers, at any time while the upload is pending, again
/// after a URL expired. Each URL signs its part's exact length (`size`, sent as
/// `content-length`): the store refuses any other length. URLs never outlive the
/// upload's deadline.
#[utoipa::path(
    tag = "uploads",
    params(("id" = Uuid, Path, description = "Upload id")),
    request_body = SignPartsRequest,
    responses(
        (status = 200, body = SignPartsResponse),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 404, body = Problem, description = "not_found"),
        (status = 409, body = Problem, description = "not_multipart, not_pending"),
        (status = 410, body = Problem, description = "expired: the upload deadline passed; the session is `expired` now"),
        (status = 422, body = Problem, description = "invalid_part_number, validation_failed"),
        (status = 429, body = Problem, description = "rate_limited: over the `sign_part` rate limit of the owner or the client IP (each request counts once, whatever the number of parts)", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/{id}/parts")]
pub async fn sign_upload_parts(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    id: web::Path<Uuid>,
    body: web::Json<SignPartsRequest>,
) -> ApiResult<web::Json<SignPartsResponse>> {
    let id = UploadId(id.into_inner());
    let profile = || session_profile(&state, id, &who);
    guard(&state, &http, RouteClass::SignPart, &who.owner, profile).await?;
    if body.part_checksums.len() > MAX_PART_CHECKSUMS {
        return Err(CoreError::invalid(
            "part_checksums",
            format!("at most {MAX_PART_CHECKSUMS} part checksums a request"),
        )
        .into());
    }
    let mut checksums = BTreeMap::new();
    for part in &body.part_checksums {
        let digest = Sha256Digest::parse(&part.sha256).ok_or_else(|| {
            CoreError::invalid(
                "part_checksums",
                format!(
                    "part {}: sha256 is neither 64 hex digits nor base64 of 32 bytes",
                    part.part_number
                ),
            )
        })?;
        checksums.insert(part.part_number, digest);
    }
    let signed = parts::sign(&state.core, &who, id, &body.part_numbers, &checksums).await?;
    Ok(web::Json(signed.into()))
}
