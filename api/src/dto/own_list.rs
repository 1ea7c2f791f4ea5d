//! Wire types of `GET /v1/uploads`: an owner's own sessions, to find one started on
//! another device.

use serde::{Deserialize, Serialize};
use sluice_core::admin::list::Page;
use sluice_core::upload::list::OwnFilter;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::SessionResponse;
use super::admin::{given, states_of};
use crate::error::ApiError;

/// Filters of the caller's own sessions; each narrows, all are optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OwnListQuery {
    /// Comma-separated states, e.g. `pending` for uploads that can go on. Empty: any.
    #[param(
        pattern = "^((pending|verifying|scanning|uploaded|committed|rejected|aborted|expired|deleted)(,(pending|verifying|scanning|uploaded|committed|rejected|aborted|expired|deleted))*)?$"
    )]
    pub state: Option<String>,
    /// The file's name as the client has it (compared after the same sanitising a
    /// create applies). Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub filename: Option<String>,
    /// The declared size in bytes.
    pub size: Option<u64>,
    /// The declared SHA-256 (hex or base64). Empty: any.
    #[param(pattern = "^([0-9A-Fa-f]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)?$")]
    pub sha256: Option<String>,
    /// Created by this batch.
    pub batch_id: Option<Uuid>,
    /// Page size, 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (opaque). Empty: the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

impl OwnListQuery {
    pub fn filter(&self) -> Result<OwnFilter, ApiError> {
        // PostgreSQL stores no NUL: a filter holding one matches nothing, and is refused
        // as on SQLite rather than failing there.
        for (name, value) in [("filename", &self.filename), ("sha256", &self.sha256)] {
            if given(value).is_some_and(|v| v.contains('\0')) {
                return Err(ApiError::invalid(
                    name,
                    format!("{name}: may not contain NUL"),
                ));
            }
        }
        if self.size.is_some_and(|s| s > i64::MAX as u64) {
            return Err(ApiError::invalid(
                "size",
                "size: at most 9223372036854775807",
            ));
        }
        Ok(OwnFilter {
            states: states_of(&self.state)?,
            filename: given(&self.filename).map(str::to_owned),
            size: self.size,
            sha256: given(&self.sha256).map(str::to_owned),
            batch_id: self.batch_id,
        })
    }
}

/// One page of the caller's sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnListResponse {
    pub items: Vec<SessionResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page> for OwnListResponse {
    fn from(p: Page) -> Self {
        Self {
            items: p.items.into_iter().map(SessionResponse::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}
