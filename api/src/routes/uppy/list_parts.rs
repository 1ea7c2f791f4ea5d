//! `GET /s3/multipart/{uploadId}?key=`: the parts the store holds (Companion's
//! `listParts`), for Uppy's resume.

use actix_web::{HttpRequest, get, web};
use serde::Serialize;
use sluice_core::uppy::multipart;
use utoipa::ToSchema;

use super::error::CompanionProblem;
use super::{CompanionResult, KeyQuery, query};
use crate::auth::BrowserReader;
use crate::state::AppState;

/// One stored part, in S3's names as Companion forwards them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UppyPart {
    pub part_number: u32,
    pub size: u64,
    /// Empty where the store does not report part ETags (the embedded store).
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// List the stored parts.
#[utoipa::path(
    tag = "uppy",
    params(("uploadId" = String, Path, description = "The store's multipart upload id"), KeyQuery),
    responses(
        (status = 200, body = Vec<UppyPart>),
        (status = 400, body = CompanionProblem, description = "invalid_query"),
        (status = 401, body = CompanionProblem, description = "unauthorized"),
        (status = 403, body = CompanionProblem, description = "cross_site_refused"),
        (status = 404, body = CompanionProblem, description = "not_found"),
        (status = 409, body = CompanionProblem, description = "not_multipart"),
        (status = 503, body = CompanionProblem, description = "storage_unavailable"),
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/s3/multipart/{uploadId}")]
pub async fn uppy_list_parts(
    state: web::Data<AppState>,
    req: HttpRequest,
    BrowserReader(who): BrowserReader,
    upload_id: web::Path<String>,
) -> CompanionResult<web::Json<Vec<UppyPart>>> {
    let KeyQuery { key } = query(&req)?;
    let parts = multipart::list_parts(&state.core, &who, &key, &upload_id).await?;
    Ok(web::Json(
        parts
            .into_iter()
            .map(|p| UppyPart {
                part_number: p.part_number,
                size: p.size,
                etag: p.etag.unwrap_or_default(),
            })
            .collect(),
    ))
}
