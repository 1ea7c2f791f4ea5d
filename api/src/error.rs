//! `ApiError`: the one place errors become HTTP. Every error is RFC 9457
//! `application/problem+json` with a stable `code` (core's [`ErrorCode`], whose status
//! sits beside it); client mistakes are 4xx, and a 5xx body says only what kind of
//! trouble Sluice has while the cause goes to the log.
//!
//! [`Answer`] is what every error writer tells the client: the `/v1` problem+json here
//! and the Companion body of the `/s3` routes share its wording and its headers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;
use sluice_core::auth::AuthError;
use sluice_core::{CoreError, ErrorCode};
use utoipa::ToSchema;

/// The problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` carries the machine-readable cause.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case cause.
    #[schema(value_type = crate::openapi::ErrorCodeSchema)]
    pub code: ErrorCode,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The session's state, where the state is why the request failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// For `quota_exceeded`: which limit, of which scope, how much is used, and its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaProblem>,
}

/// The limit a refused upload would have broken.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaProblem {
    /// `daily_uploads`, `daily_bytes` or `stored_bytes`.
    pub limit: &'static str,
    /// The profile whose limit it is; absent for the owner's total across profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What is used now (uploads, or bytes).
    pub usage: u64,
    /// The limit's value.
    pub value: u64,
    /// What is left under the limit (`value − usage`): how many uploads, or bytes, a
    /// request may still ask for (a batch is refused whole when its sum is more).
    pub remaining: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Unauthorized(AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("a service key must name the owner it acts for in X-Sluice-Owner")]
    OwnerRequired,
    /// The request body or query could not be read; `code` says how (and its status).
    #[error("{detail}")]
    BadRequest {
        code: ErrorCode,
        detail: String,
        field: Option<String>,
    },
    /// A cookie-authenticated request that does not come from Sluice's own origin (CSRF).
    #[error("a request authenticated by the session cookie must come from this origin")]
    CrossSiteRefused,
    #[error("no route for this method and path")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over a rate limit (`dimension`: `owner` or `ip`); passes again after `retry_after` s.
    #[error("too many requests from this {dimension}; retry in {retry_after}s")]
    RateLimited {
        dimension: &'static str,
        retry_after: u64,
    },
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::OwnerRequired => ErrorCode::OwnerRequired,
            ApiError::CrossSiteRefused => ErrorCode::CrossSiteRefused,
            ApiError::BadRequest { code, .. } => *code,
            ApiError::NoRoute => ErrorCode::RouteNotFound,
            ApiError::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
        }
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: ErrorCode::ValidationFailed,
            detail: detail.into(),
            field: Some(field.to_owned()),
        }
    }

    /// What the client is told, by every error writer. A 5xx is logged here, once, with
    /// its cause; its answer names only the kind of trouble.
    pub fn answer(&self) -> Answer {
        let code = self.code();
        let detail = if code.is_server_error() {
            tracing::error!(error = %self, code = %code, "request failed");
            match code {
                ErrorCode::StorageUnavailable => "the object store is unavailable; retry later",
                ErrorCode::Busy => "the database is busy; retry",
                ErrorCode::DatabaseUnavailable => "the database is unavailable; retry later",
                _ => "an internal error occurred",
            }
            .to_owned()
        } else {
            self.to_string()
        };
        let retry_after = match self {
            ApiError::Core(CoreError::QuotaExceeded { retry_after, .. }) => *retry_after,
            ApiError::Core(CoreError::Busy(_) | CoreError::DatabaseUnavailable(_)) => Some(1),
            ApiError::RateLimited { retry_after, .. } => Some((*retry_after).max(1)),
            _ => None,
        };
        Answer {
            status: status_of(code),
            code,
            detail,
            retry_after,
        }
    }

    /// The offending field, for a 4xx about one.
    pub(crate) fn field(&self) -> Option<String> {
        match self {
            ApiError::Core(CoreError::Invalid { field, .. }) => Some(field.clone()),
            ApiError::Core(CoreError::ChecksumRequired(_)) => Some("sha256".to_owned()),
            ApiError::BadRequest { field, .. } => field.clone(),
            _ => None,
        }
    }
}

/// What a refused request is answered: status, code, a sentence safe to show, and when
/// to try again.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub code: ErrorCode,
    /// The error's own sentence for a 4xx; for a 5xx only the kind of trouble.
    pub detail: String,
    /// Seconds, for `Retry-After` (a daily quota, a rate limit, a busy database).
    pub retry_after: Option<u64>,
}

impl Answer {
    /// A response with the status and the headers every error body shares:
    /// `Retry-After` when waiting helps, `WWW-Authenticate` on a 401.
    pub fn response(&self) -> HttpResponseBuilder {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status_of(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        let answer = self.answer();
        let client_side = !answer.code.is_server_error();
        let state = match self {
            ApiError::Core(e) if client_side => e.state().map(|s| s.as_str()),
            _ => None,
        };
        let quota = match self {
            ApiError::Core(CoreError::QuotaExceeded {
                limit,
                scope,
                usage,
                value,
                ..
            }) => Some(QuotaProblem {
                limit,
                profile: (scope != sluice_core::quota::TOTAL).then(|| scope.clone()),
                usage: *usage,
                value: *value,
                remaining: value.saturating_sub(*usage),
            }),
            _ => None,
        };
        let problem = Problem {
            kind: "about:blank",
            title: answer
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            status: answer.status.as_u16(),
            detail: answer.detail.clone(),
            code: answer.code,
            field: self.field().filter(|_| client_side),
            state,
            quota,
        };
        answer
            .response()
            .content_type("application/problem+json")
            .json(problem)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
