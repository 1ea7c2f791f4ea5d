//! Extractor configuration: bad JSON, bad paths and bad queries become problem+json with
//! a code saying exactly what was wrong, never actix's plain-text 400.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};
use serde::de::DeserializeOwned;
use sluice_core::ErrorCode;

use crate::error::ApiError;

/// Largest JSON body accepted; requests are small (no file bytes ever come here).
pub const JSON_LIMIT: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

pub fn path_config() -> web::PathConfig {
    // An id that is not even a UUID cannot name anything: not found.
    web::PathConfig::default().error_handler(|_err: PathError, _req| {
        ApiError::Core(sluice_core::CoreError::NotFound("resource")).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::BadRequest {
            code: ErrorCode::InvalidQuery,
            detail: err.to_string(),
            field: None,
        }
        .into()
    })
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::BadRequest {
            code: ErrorCode::UnsupportedMediaType,
            detail: "send the body as application/json".into(),
            field: None,
        },
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::BadRequest {
                code: ErrorCode::PayloadTooLarge,
                detail: format!("JSON bodies are limited to {JSON_LIMIT} bytes"),
                field: None,
            }
        }
        JsonPayloadError::Deserialize(e) => serde_error(&e),
        other => ApiError::BadRequest {
            code: ErrorCode::MalformedJson,
            detail: other.to_string(),
            field: None,
        },
    }
}

/// Maps a serde_json error to a code: syntax → `malformed_json`, data → which field and how.
pub fn serde_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = e.to_string();
    let code = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ErrorCode::MalformedJson,
        Category::Data if message.starts_with("unknown field") => ErrorCode::UnknownField,
        Category::Data if message.starts_with("missing field") => ErrorCode::MissingField,
        Category::Data => ErrorCode::InvalidType,
    };
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| matches!(code, ErrorCode::UnknownField | ErrorCode::MissingField))
        .map(str::to_owned);
    ApiError::BadRequest {
        code,
        detail: message,
        field,
    }
}

/// Reads an optional JSON body: empty means `T::default()`, anything else must parse.
pub fn optional_json<T: DeserializeOwned + Default>(body: &web::Bytes) -> Result<T, ApiError> {
    // An absent body, or JSON `null`, means "no options".
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| serde_error(&e))
}
