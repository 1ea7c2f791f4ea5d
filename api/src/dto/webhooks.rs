//! Wire types of `/v1/admin/webhooks`: deliveries with their attempts, replays, endpoint
//! health, pause and resume.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::webhooks::operate::{DeliveryFilter, DeliveryPage, DeliveryView, EndpointHealth};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::admin::given;
use crate::error::ApiError;

/// Filters of the delivery list; each narrows, all are optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// A configured endpoint's name. Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub endpoint: Option<String>,
    /// An event type, e.g. `upload.uploaded`. Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub event: Option<String>,
    /// `pending`, `delivered` or `failed`. Empty: any.
    #[param(pattern = "^(pending|delivered|failed)?$")]
    pub status: Option<String>,
    /// Deliveries about this upload session.
    pub upload_id: Option<Uuid>,
    /// Written at or after this instant (RFC 3339).
    pub created_after: Option<DateTime<Utc>>,
    /// Written before this instant (RFC 3339).
    pub created_before: Option<DateTime<Utc>>,
    /// Page size, 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (opaque). Empty: the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

impl DeliveryListQuery {
    pub fn filter(&self) -> Result<DeliveryFilter, ApiError> {
        for (name, value) in [
            ("endpoint", &self.endpoint),
            ("event", &self.event),
            ("status", &self.status),
        ] {
            if given(value).is_some_and(|v| v.contains('\0')) {
                return Err(ApiError::invalid(
                    name,
                    format!("{name}: may not contain NUL"),
                ));
            }
        }
        Ok(DeliveryFilter {
            endpoint: given(&self.endpoint).map(str::to_owned),
            event_type: given(&self.event).map(str::to_owned),
            status: given(&self.status).map(str::to_owned),
            upload_id: self.upload_id,
            created_after: self.created_after,
            created_before: self.created_before,
        })
    }
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status; absent when no answer came.
    pub status: Option<i32>,
    pub latency_ms: i64,
    /// Why it failed (`answered 500 …`, `timed out`, `connection failed`).
    pub error: Option<String>,
    /// When the next try is due, after a failure.
    pub next_try: Option<DateTime<Utc>>,
    /// The start of the answer's body (at most 512 characters; the endpoint's secret and
    /// URL replaced by `[redacted]`).
    pub response_excerpt: Option<String>,
}

/// A delivery and its attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt and every replay.
    pub message_id: String,
    pub endpoint: String,
    pub event: String,
    pub upload_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    /// Attempts since it was written or last replayed.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What was sent (ids and the session's view; never secrets or URLs).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempt_log: Vec<AttemptResponse>,
}

impl From<DeliveryView> for DeliveryResponse {
    fn from(v: DeliveryView) -> Self {
        let d = v.delivery;
        Self {
            id: d.id,
            message_id: d.message_id,
            endpoint: d.endpoint,
            event: d.event_type,
            upload_id: d.upload_id,
            status: d.status,
            attempts: d.attempts,
            created_at: d.created_at,
            finished_at: d.finished_at,
            payload: d.payload,
            attempt_log: v
                .attempts
                .into_iter()
                .map(|a| AttemptResponse {
                    at: a.at,
                    status: a.status,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    next_try: a.next_try,
                    response_excerpt: a.response_excerpt,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListResponse {
    pub items: Vec<DeliveryResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<DeliveryPage> for DeliveryListResponse {
    fn from(p: DeliveryPage) -> Self {
        Self {
            items: p.items.into_iter().map(DeliveryResponse::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// Which given-up deliveries of an endpoint to send again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Deliveries written at or after this instant (RFC 3339).
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResponse {
    /// Deliveries made pending again (at most 10,000 a request).
    pub replayed: u64,
}

/// How one configured endpoint is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointHealthResponse {
    pub name: String,
    /// Since when its deliveries wait for a resume; absent when not paused.
    pub paused_at: Option<DateTime<Utc>>,
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Attempts in the last 24 hours, and how many were answered 2xx.
    pub attempts_24h: u64,
    pub succeeded_24h: u64,
    /// `succeeded_24h / attempts_24h`; absent without attempts.
    pub success_rate_24h: Option<f64>,
    pub mean_latency_ms_24h: Option<u64>,
    /// When the oldest pending delivery was written.
    pub oldest_pending: Option<DateTime<Utc>>,
}

impl From<EndpointHealth> for EndpointHealthResponse {
    fn from(h: EndpointHealth) -> Self {
        Self {
            success_rate_24h: (h.attempts_24h > 0)
                .then(|| h.succeeded_24h as f64 / h.attempts_24h as f64),
            name: h.name,
            paused_at: h.paused_at,
            pending: h.pending,
            delivered: h.delivered,
            failed: h.failed,
            attempts_24h: h.attempts_24h,
            succeeded_24h: h.succeeded_24h,
            mean_latency_ms_24h: h.mean_latency_ms_24h,
            oldest_pending: h.oldest_pending,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointsResponse {
    pub endpoints: Vec<EndpointHealthResponse>,
}
