//! `POST /v1/uploads/batch`: many sessions in one request and one transaction.
//!
//! The body is read here rather than by the JSON extractor: it may be larger than the
//! 64 KiB other bodies are held to, and one malformed item must be refused alone (with
//! the code `POST /v1/uploads` would give it), not fail the whole batch.

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures::StreamExt;
use sluice_core::ErrorCode;
use sluice_core::config::RouteClass;
use sluice_core::upload::CreateUpload;

use crate::auth::Caller;
use crate::dto::CreateUploadRequest;
use crate::dto::batch::{
    BatchCreateRequest, BatchCreateResponse, BatchItemError, BatchItemResponse,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::serde_error;
use crate::ratelimit::{guard, known};
use crate::routes::validate;
use crate::state::AppState;

/// Largest batch body accepted.
pub const BATCH_JSON_LIMIT: usize = 8 * 1024 * 1024;

/// The body's shape, before any item is read.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    items: Vec<serde_json::Value>,
}

/// Create many upload sessions at once.
///
/// Each item is what `POST /v1/uploads` takes and is checked as that route would check
/// it alone: a refused item (its `status` and `error.code` are that route's) creates
/// nothing and does not stop the others. The created sessions, their quota and the batch
/// are written in one transaction, with `batch_id` on every session. Quota is all or
/// nothing: the accepted items' sum fits every limit, or the request is refused with 429
/// `quota_exceeded` (`quota` names the limit, its value, the usage and what remains) and
/// nothing is created. A batch counts as one `create` request per profile it names
/// against rate limits. When every session is `uploaded` or ended, `batch.completed` is
/// announced once. 201 when a session was created, 200 when every item was refused.
#[utoipa::path(
    tag = "uploads",
    request_body = BatchCreateRequest,
    responses(
        (status = 201, body = BatchCreateResponse, description = "at least one session created"),
        (status = 200, body = BatchCreateResponse, description = "every item refused: nothing created"),
        (status = 401, body = Problem, description = "unauthorized"),
        (status = 413, body = Problem, description = "payload_too_large: the body is over 8 MiB"),
        (status = 415, body = Problem, description = "unsupported_media_type"),
        (status = 422, body = Problem, description = "validation_failed: no items, or more than `batch.max_items`; malformed_json, unknown_field, missing_field, invalid_type: the body's shape"),
        (status = 429, body = Problem, description = "quota_exceeded: the accepted items together break `quota.limit`; nothing was created. rate_limited", headers(("Retry-After" = u64, description = "seconds until the request would pass"))),
        (status = 503, body = Problem, description = "database_unavailable, busy"),
    ),
    security(("bearer" = []))
)]
#[post("/v1/uploads/batch")]
pub async fn create_upload_batch(
    state: web::Data<AppState>,
    http: HttpRequest,
    Caller(who): Caller,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let json = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|essence| essence == "application/json" || essence.ends_with("+json"));
    if !json {
        return Err(ApiError::BadRequest {
            code: ErrorCode::UnsupportedMediaType,
            detail: "send the body as application/json".into(),
            field: None,
        });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: ErrorCode::MalformedJson,
            detail: e.to_string(),
            field: None,
        })?;
        if body.len() + chunk.len() > BATCH_JSON_LIMIT {
            return Err(ApiError::BadRequest {
                code: ErrorCode::PayloadTooLarge,
                detail: format!("batch bodies are limited to {BATCH_JSON_LIMIT} bytes"),
                field: None,
            });
        }
        body.extend_from_slice(&chunk);
    }
    let raw: RawBatch = serde_json::from_slice(&body).map_err(|e| serde_error(&e))?;
    let max = state.core.settings.batch.max_items;
    if raw.items.is_empty() || raw.items.len() > max {
        return Err(ApiError::invalid(
            "items",
            format!("items: from 1 to {max} items a batch"),
        ));
    }
    // The schema's shape (an array of objects) holds for the whole request; what each
    // object says is checked item by item.
    if raw.items.iter().any(|item| !item.is_object()) {
        return Err(ApiError::BadRequest {
            code: ErrorCode::InvalidType,
            detail: "items: every item must be a JSON object".into(),
            field: Some("items".into()),
        });
    }
    let parsed: Vec<Result<CreateUpload, ApiError>> =
        raw.items.into_iter().map(parse_item).collect();
    let profiles: BTreeSet<&str> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| p.profile.as_str())
        .collect();
    for profile in profiles {
        guard(
            &state,
            &http,
            RouteClass::Create,
            &who.owner,
            known(profile),
        )
        .await?;
    }
    let (accepted, positions): (Vec<CreateUpload>, Vec<usize>) = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().ok().map(|req| (req.clone(), i)))
        .unzip();
    let mut answers: Vec<BatchItemResponse> = parsed
        .into_iter()
        .enumerate()
        .map(|(index, p)| match p {
            Ok(_) => BatchItemResponse {
                index,
                status: 0,
                upload: None,
                error: None,
            },
            Err(e) => refused(index, &e),
        })
        .collect();
    let batch = sluice_core::batch::create_batch(&state.core, &who, accepted).await?;
    for (result, index) in batch.items.into_iter().zip(positions) {
        answers[index] = match result {
            Ok(created) => BatchItemResponse {
                index,
                status: 201,
                upload: Some(created.into()),
                error: None,
            },
            Err(e) => refused(index, &ApiError::Core(e)),
        };
    }
    let created = answers.iter().filter(|a| a.upload.is_some()).count();
    let response = BatchCreateResponse {
        batch_id: batch.id,
        created,
        refused: answers.len() - created,
        items: answers,
    };
    Ok(if batch.id.is_some() {
        HttpResponse::Created().json(response)
    } else {
        HttpResponse::Ok().json(response)
    })
}

/// One item, read and checked as `POST /v1/uploads` reads and checks its body.
fn parse_item(item: serde_json::Value) -> Result<CreateUpload, ApiError> {
    let req: CreateUploadRequest = serde_json::from_value(item).map_err(|e| serde_error(&e))?;
    validate(&req)?;
    Ok(req.into_core()?)
}

fn refused(index: usize, error: &ApiError) -> BatchItemResponse {
    let answer = error.answer();
    BatchItemResponse {
        index,
        status: answer.status.as_u16(),
        upload: None,
        error: Some(BatchItemError {
            code: answer.code,
            detail: answer.detail,
            field: error.field(),
        }),
    }
}
