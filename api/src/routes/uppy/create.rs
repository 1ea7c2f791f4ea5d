//! `POST /s3/multipart`: a multipart session (Companion's `createMultipartUpload`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use sluice_core::config::RouteClass;
use sluice_core::uppy::{UppyFile, multipart, read_metadata};
use utoipa::ToSchema;

use super::error::CompanionProblem;
use super::{CompanionResult, check_file_fields, json_body};
use crate::auth::BrowserCaller;
use crate::ratelimit::{guard, known};
use crate::state::AppState;

/// What Uppy sends: no size (put it in `metadata.size` to have each part's length signed).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateMultipartRequest {
    #[schema(schema_with = crate::dto::schemas::filename)]
    pub filename: String,
    /// The content type; guessed from the filename when absent or empty.
    #[serde(rename = "type", default)]
    #[schema(schema_with = content_type_schema)]
    pub content_type: Option<String>,
    /// Uppy's file metadata; strings, numbers and booleans are kept (at most 32).
    #[serde(default)]
    #[schema(schema_with = crate::dto::schemas::uppy_metadata)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

fn content_type_schema() -> utoipa::openapi::Object {
    crate::dto::schemas::described(
        crate::dto::schemas::content_type(),
        "The content type; guessed from the filename when absent or empty.",
    )
}

/// Companion's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreateMultipartResponse {
    /// The object key: every later call names the upload by it (`?key=`).
    pub key: String,
    /// The store's multipart upload id.
    #[serde(rename = "uploadId")]
    pub upload_id: String,
}

/// Start a multipart upload.
#[utoipa::path(
    tag = "uppy",
    request_body = CreateMultipartRequest,
    responses(
        (status = 200, body = CreateMultipartResponse),
        (status = 400, body = CompanionProblem, description = "malformed_json"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused, profile_not_allowed"),
        (status = 404, body = CompanionProblem, description = "unknown_profile"),
        (status = 413, body = CompanionProblem, description = "too_large"),
        (status = 415, body = CompanionProblem, description = "type_not_allowed, extension_not_allowed"),
        (status = 422, body = CompanionProblem, description = "validation_failed, missing_field, invalid_type"),
        (status = 429, body = CompanionProblem, description = "quota_exceeded; rate_limited: over the `create` rate limit of the owner or the client IP", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
        (status = 503, body = CompanionProblem, description = "storage_unavailable"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/s3/multipart")]
pub async fn uppy_create_multipart(
    state: web::Data<AppState>,
    http: HttpRequest,
    BrowserCaller(who): BrowserCaller,
    body: web::Bytes,
) -> CompanionResult<HttpResponse> {
    let profile = known(&state.core.settings.uppy.profile);
    guard(&state, &http, RouteClass::Create, &who.owner, profile).await?;
    let req: CreateMultipartRequest = json_body(&body)?;
    check_file_fields(&req.filename, req.content_type.as_deref())?;
    let metadata = req.metadata.unwrap_or_default();
    let file = UppyFile {
        filename: req.filename,
        content_type: req.content_type,
        metadata: read_metadata(metadata.iter().map(|(k, v)| (k.as_str(), v)))?,
    };
    let started = multipart::create(&state.core, &who, file).await?;
    Ok(HttpResponse::Ok().json(CreateMultipartResponse {
        key: started.session.key,
        upload_id: started.upload_id,
    }))
}
