//! `ApiError`: the one place errors become HTTP. Every error is RFC 9457
//! `application/problem+json` with a stable `code`; client mistakes are 4xx, and a 5xx
//! body says only `internal_error` while the cause goes to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use sluice_core::CoreError;
use sluice_core::auth::AuthError;
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
    /// Stable snake_case cause; see the `ErrorCode` schema for every value.
    pub code: &'static str,
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
    /// The request body or query could not be read; `code` says how.
    #[error("{detail}")]
    BadRequest {
        status: StatusCode,
        code: &'static str,
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

/// Codes only the HTTP layer produces (the core's are in `CoreError::CODES`).
pub const API_CODES: &[&str] = &[
    "unauthorized",
    "forbidden",
    "owner_required",
    "cross_site_refused",
    "malformed_json",
    "unknown_field",
    "missing_field",
    "invalid_type",
    "unsupported_media_type",
    "payload_too_large",
    "invalid_query",
    "route_not_found",
    "method_not_allowed",
    "rate_limited",
];

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::OwnerRequired => "owner_required",
            ApiError::CrossSiteRefused => "cross_site_refused",
            ApiError::BadRequest { code, .. } => code,
            ApiError::NoRoute => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
        }
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            detail: detail.into(),
            field: Some(field.to_owned()),
        }
    }
}

fn core_status(e: &CoreError) -> StatusCode {
    match e {
        CoreError::NotFound(_) | CoreError::UnknownProfile(_) => StatusCode::NOT_FOUND,
        CoreError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::ProfileNotAllowed(_) => StatusCode::FORBIDDEN,
        CoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        CoreError::TypeNotAllowed(_) | CoreError::ExtensionNotAllowed(_) => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        CoreError::Invalid { .. } | CoreError::ChecksumRequired(_) | CoreError::Rejected { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        CoreError::IllegalTransition(_)
        | CoreError::Conflict
        | CoreError::NotUploaded
        | CoreError::PartsMissing(_)
        | CoreError::NotMultipart
        | CoreError::NotPending(_) => StatusCode::CONFLICT,
        // As tus answers an expired upload: the session is gone for good (its row stays
        // readable, in state `expired`).
        CoreError::Expired => StatusCode::GONE,
        CoreError::PartOutOfRange { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::Storage(_) | CoreError::Busy(_) | CoreError::DatabaseUnavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        CoreError::Db(_)
        | CoreError::Queue(_)
        | CoreError::WebhookFailed(_)
        | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Core(e) => core_status(e),
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::CrossSiteRefused => StatusCode::FORBIDDEN,
            ApiError::OwnerRequired => StatusCode::BAD_REQUEST,
            ApiError::BadRequest { status, .. } => *status,
            ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (detail, field, state) = if status.is_server_error() {
            // Log the cause once, here; the client learns nothing about internals.
            tracing::error!(error = %self, code = self.code(), "request failed");
            let detail = match self {
                ApiError::Core(CoreError::Storage(_)) => {
                    "the object store is unavailable; retry later"
                }
                ApiError::Core(CoreError::Busy(_)) => "the database is busy; retry",
                ApiError::Core(CoreError::DatabaseUnavailable(_)) => {
                    "the database is unavailable; retry later"
                }
                _ => "an internal error occurred",
            };
            (detail.to_owned(), None, None)
        } else {
            let field = match self {
                ApiError::Core(CoreError::Invalid { field, .. }) => Some(field.clone()),
                ApiError::Core(CoreError::ChecksumRequired(_)) => Some("sha256".to_owned()),
                ApiError::BadRequest { field, .. } => field.clone(),
                _ => None,
            };
            let state = match self {
                ApiError::Core(e) => e.state().map(|s| s.as_str()),
                _ => None,
            };
            (self.to_string(), field, state)
        };
        let code = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "internal_error"
        } else {
            self.code()
        };
        let (quota, retry_after) = match self {
            ApiError::Core(CoreError::QuotaExceeded {
                limit,
                scope,
                usage,
                value,
                retry_after,
            }) => (
                Some(QuotaProblem {
                    limit,
                    profile: (scope != sluice_core::quota::TOTAL).then(|| scope.clone()),
                    usage: *usage,
                    value: *value,
                }),
                *retry_after,
            ),
            ApiError::Core(CoreError::Busy(_) | CoreError::DatabaseUnavailable(_)) => {
                (None, Some(1))
            }
            ApiError::RateLimited { retry_after, .. } => (None, Some((*retry_after).max(1))),
            _ => (None, None),
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code,
            field,
            state,
            quota,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if let Some(seconds) = retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(problem)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
