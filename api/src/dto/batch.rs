//! Wire types of batch sessions: `POST /v1/uploads/batch` and `GET /v1/batches/{id}`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::ErrorCode;
use sluice_core::batch::BatchSummary;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CreateUploadRequest, CreateUploadResponse};

/// Create many upload sessions at once. Each item is what `POST /v1/uploads` takes, and is
/// checked as that route would check it alone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCreateRequest {
    /// 1 to `batch.max_items` (default 1000) items, each what `POST /v1/uploads` takes
    /// (`CreateUploadRequest`). Items are read one by one: a malformed item is refused
    /// alone, in the 200/201 answer, so the schema here takes any object.
    #[schema(min_items = 1, value_type = Vec<Object>)]
    pub items: Vec<CreateUploadRequest>,
}

/// What became of a batch: its id (when a session was created) and every item's outcome,
/// in the order of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCreateResponse {
    /// Absent when every item was refused (nothing was created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<Uuid>,
    /// Sessions created.
    pub created: usize,
    /// Items refused.
    pub refused: usize,
    pub items: Vec<BatchItemResponse>,
}

/// One item of a batch: its session and upload instructions, or why it was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemResponse {
    /// The item's position in the request, from 0.
    pub index: usize,
    /// The status `POST /v1/uploads` would have answered for it alone: 201, or the
    /// refusal's 4xx (or 503 where the store could not start a multipart upload).
    pub status: u16,
    /// Present when created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<CreateUploadResponse>,
    /// Present when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchItemError>,
}

/// Why one item was refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItemError {
    #[schema(value_type = crate::openapi::ErrorCodeSchema)]
    pub code: ErrorCode,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A batch and how many of its sessions are in each state.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub id: Uuid,
    /// Sessions the batch created.
    pub total: u32,
    /// Sessions per state (`pending`, `uploaded`, `rejected`, …); states with none are
    /// left out.
    pub states: BTreeMap<String, u32>,
    /// True once every session is `uploaded` or ended (`batch.completed` was announced).
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<BatchSummary> for BatchResponse {
    fn from(b: BatchSummary) -> Self {
        Self {
            id: b.id,
            total: b.total,
            states: b
                .states
                .into_iter()
                .map(|(s, n)| (s.to_owned(), n))
                .collect(),
            completed: b.completed,
            created_at: b.created_at,
            completed_at: b.completed_at,
        }
    }
}
