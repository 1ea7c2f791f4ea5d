//! Wire types of `/v1/admin`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::admin::list::{Filter, Page};
use sluice_core::admin::session::SessionDetail;
use sluice_core::admin::stats::{Group, Stats};
use sluice_core::upload::{Failure, SessionView, UploadMethod, UploadState};
use utoipa::{IntoParams, ToSchema};

use super::SessionResponse;
use crate::error::ApiError;

/// Filters of the admin list; each narrows, all are optional.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminListQuery {
    /// Comma-separated states, e.g. `pending,verifying`. Empty: any.
    #[param(
        pattern = "^((pending|verifying|scanning|uploaded|committed|rejected|aborted|expired|deleted)(,(pending|verifying|scanning|uploaded|committed|rejected|aborted|expired|deleted))*)?$"
    )]
    pub state: Option<String>,
    /// Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub owner: Option<String>,
    /// Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub profile: Option<String>,
    /// `put` or `multipart`. Empty: any.
    #[param(pattern = "^(put|multipart)?$")]
    pub method: Option<String>,
    /// Rejected for this reason: `size_mismatch`, `checksum_mismatch`, `type_mismatch`,
    /// `malware_detected`, `too_large_to_scan`. Empty: any.
    #[param(
        pattern = "^(size_mismatch|checksum_mismatch|type_mismatch|malware_detected|too_large_to_scan)?$"
    )]
    pub failure: Option<String>,
    /// The object key, exactly. Empty: any.
    #[param(pattern = "^[^\\u0000]*$")]
    pub key: Option<String>,
    /// Created at or after this instant (RFC 3339).
    pub created_after: Option<DateTime<Utc>>,
    /// Created before this instant (RFC 3339).
    pub created_before: Option<DateTime<Utc>>,
    /// Live sessions past their deadline (`true`), or everything else (`false`).
    pub overdue: Option<bool>,
    /// Sessions that still owe the bucket a cleanup (`true`), or not (`false`).
    pub cleanup_owed: Option<bool>,
    /// Page size, 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page (opaque). Empty: the first page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A query value, with an empty one taken as absent (as HTML forms send them).
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// A comma-separated `state` parameter.
pub(crate) fn states_of(state: &Option<String>) -> Result<Vec<UploadState>, ApiError> {
    match given(state) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                UploadState::from_name(s)
                    .ok_or_else(|| ApiError::invalid("state", format!("state: no state `{s}`")))
            })
            .collect(),
        None => Ok(Vec::new()),
    }
}

impl AdminListQuery {
    /// The core filter, or which parameter is wrong.
    pub fn filter(&self) -> Result<Filter, ApiError> {
        let states = states_of(&self.state)?;
        let method = match given(&self.method) {
            Some(m) => Some(
                UploadMethod::from_name(m)
                    .ok_or_else(|| ApiError::invalid("method", "method: `put` or `multipart`"))?,
            ),
            None => None,
        };
        let failure = match given(&self.failure) {
            Some(f) => Some(Failure::from_code(f).ok_or_else(|| {
                ApiError::invalid("failure", format!("failure: no failure code `{f}`"))
            })?),
            None => None,
        };
        // Nothing stored holds NUL, and PostgreSQL refuses it in a text parameter.
        for (name, value) in [
            ("owner", &self.owner),
            ("profile", &self.profile),
            ("key", &self.key),
        ] {
            if given(value).is_some_and(|v| v.contains('\0')) {
                return Err(ApiError::invalid(
                    name,
                    format!("{name}: may not contain NUL"),
                ));
            }
        }
        Ok(Filter {
            states,
            owner: given(&self.owner).map(str::to_owned),
            profile: given(&self.profile).map(str::to_owned),
            method,
            failure,
            key: given(&self.key).map(str::to_owned),
            created_after: self.created_after,
            created_before: self.created_before,
            overdue: self.overdue,
            cleanup_owed: self.cleanup_owed,
            ..Filter::default()
        })
    }
}

/// A session as an operator sees it: the owner's view plus the owner and cleanup facts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminSession {
    #[serde(flatten)]
    pub session: SessionResponse,
    pub owner: String,
}

impl From<SessionView> for AdminSession {
    fn from(s: SessionView) -> Self {
        let owner = s.owner.clone();
        Self {
            session: s.into(),
            owner,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminListResponse {
    pub items: Vec<AdminSession>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page> for AdminListResponse {
    fn from(p: Page) -> Self {
        Self {
            items: p.items.into_iter().map(AdminSession::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `transition`, `download_link`, `cleanup` or `admin`.
    pub kind: String,
    /// The state left, for transitions (absent at creation and for other kinds).
    pub from_state: Option<String>,
    /// The state entered, or the state at the time for other kinds.
    pub to_state: String,
    /// `owner:<id>`, `service:<owner>`, `admin` or `system`.
    pub actor: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminSessionResponse {
    #[serde(flatten)]
    pub session: AdminSession,
    /// The object store its object lives in: `default` (`[storage]`) or a `[stores.NAME]`.
    pub store: String,
    /// The audit trail, oldest first.
    pub events: Vec<AuditEventResponse>,
}

impl From<SessionDetail> for AdminSessionResponse {
    fn from(d: SessionDetail) -> Self {
        Self {
            session: d.session.into(),
            store: d.store,
            events: d
                .events
                .into_iter()
                .map(|e| AuditEventResponse {
                    id: e.id,
                    at: e.at,
                    kind: e.kind,
                    from_state: e.from_state,
                    to_state: e.to_state,
                    actor: e.actor,
                    detail: e.detail,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminStatsQuery {
    /// Days in the per-day series, 1 to 366; default 30.
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<u32>,
    /// Compute now instead of reading the rollup.
    pub fresh: Option<bool>,
}

/// Count and bytes of one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountAndBytes {
    /// The state, the profile or the day (`YYYY-MM-DD`).
    pub key: String,
    pub count: i64,
    pub bytes: i64,
}

impl From<Group> for CountAndBytes {
    fn from(g: Group) -> Self {
        Self {
            key: g.key,
            count: g.count,
            bytes: g.bytes,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminStatsResponse {
    pub by_state: Vec<CountAndBytes>,
    pub by_profile: Vec<CountAndBytes>,
    /// Uploads created and their bytes per UTC day, oldest first.
    pub per_day: Vec<CountAndBytes>,
    /// When these numbers were computed.
    pub computed_at: DateTime<Utc>,
}

impl From<Stats> for AdminStatsResponse {
    fn from(s: Stats) -> Self {
        Self {
            by_state: s.by_state.into_iter().map(Into::into).collect(),
            by_profile: s.by_profile.into_iter().map(Into::into).collect(),
            per_day: s.per_day.into_iter().map(Into::into).collect(),
            computed_at: s.computed_at,
        }
    }
}
