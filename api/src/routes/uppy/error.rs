//! Companion's error shape: `{"message": "…", "code": "…"}` as `application/json`, with
//! the same status and stable `code` the problem+json of `/v1` would carry. Uppy 5 shows
//! `message` to the user; Uppy 6 reads the status.
//!
//! Invariants: a 5xx says only what `/v1` would say (no internals), and its cause is
//! logged once, here.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use sluice_core::{CoreError, ErrorCode};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The error body of the `/s3/*` routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanionProblem {
    /// A human sentence (Uppy 5 shows it).
    pub message: String,
    /// Stable snake_case cause, as on `/v1`.
    #[schema(value_type = crate::openapi::ErrorCodeSchema)]
    pub code: ErrorCode,
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
        // The wording, the status and the headers are the `/v1` answer's; only the body's
        // shape is Companion's.
        let answer = self.0.answer();
        answer.response().json(CompanionProblem {
            message: answer.detail,
            code: answer.code,
        })
    }
}
