//! Companion's error shape: `{"message": "…", "code": "…"}` as `application/json`, with
//! the same status and stable `code` the problem+json of `/v1` would carry. Uppy 5 shows
//! `message` to the user; Uppy 6 reads the status.
//!
//! Invariants: a 5xx says only what `/v1` would say (no internals), and its cause is
//! logged once, here.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use sluice_core::CoreError;
use utoipa::ToSchema;

use crate::error::ApiError;

/// The error body of the `/s3/*` routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanionProblem {
    /// A human sentence (Uppy 5 shows it).
    pub message: String,
    /// Stable snake_case cause; see the `ErrorCode` schema for every value.
    pub code: String,
}

/// An `ApiError` answered in Companion's shape.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CompanionError(pub ApiError);

pub type CompanionResult<T> = Result<T, CompanionError>;

impl From<ApiError> for CompanionError {
    fn from(e: ApiError) -> Self {
        CompanionError(e)
    }
}

impl From<CoreError> for CompanionError {
    fn from(e: CoreError) -> Self {
        CompanionError(ApiError::Core(e))
    }
}

impl ResponseError for CompanionError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (message, code) = if status.is_server_error() {
            tracing::error!(error = %self.0, code = self.0.code(), "request failed");
            let message = match &self.0 {
                ApiError::Core(CoreError::Storage(_)) => {
                    "the object store is unavailable; retry later"
                }
                ApiError::Core(CoreError::Busy(_)) => "the database is busy; retry",
                ApiError::Core(CoreError::DatabaseUnavailable(_)) => {
                    "the database is unavailable; retry later"
                }
                _ => "an internal error occurred",
            };
            let code = if status == StatusCode::INTERNAL_SERVER_ERROR {
                "internal_error"
            } else {
                self.0.code()
            };
            (message.to_owned(), code)
        } else {
            (self.0.to_string(), self.0.code())
        };
        let mut response = HttpResponse::build(status);
        match &self.0 {
            ApiError::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::Core(CoreError::QuotaExceeded {
                retry_after: Some(s),
                ..
            }) => {
                response.insert_header(("Retry-After", s.to_string()));
            }
            ApiError::Core(CoreError::Busy(_) | CoreError::DatabaseUnavailable(_)) => {
                response.insert_header(("Retry-After", "1"));
            }
            ApiError::RateLimited { retry_after, .. } => {
                response.insert_header(("Retry-After", (*retry_after).max(1).to_string()));
            }
            _ => {}
        }
        response.json(CompanionProblem {
            message,
            code: code.to_owned(),
        })
    }
}
