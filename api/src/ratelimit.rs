//! The rate-limit check handlers call once they know the owner: `guard` answers
//! `429 rate_limited` with `Retry-After` when the request is over a limit (see
//! `sluice_core::ratelimit`). It runs after authentication (the owner is the bucket) and
//! before any work of the use case.
//!
//! Invariant: the request's profile is looked up (one indexed read, or the pending cache
//! for part signing) only when some profile sets its own limit for the route class; a
//! lookup that finds nothing falls back to the global limits, and the use case answers
//! the 404 as it always does.

use std::future::Future;

use actix_web::HttpRequest;
use sluice_core::auth::Principal;
use sluice_core::config::RouteClass;
use sluice_core::ids::{FileId, UploadId};
use sluice_core::ratelimit::{Verdict, retry_after_secs};

use crate::error::ApiError;
use crate::state::AppState;

/// Refuses the request when `owner` (or the client's IP) is over the limit of `class`;
/// `profile` names the request's profile, called only when a profile has limits.
pub async fn guard<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    class: RouteClass,
    owner: &str,
    profile: F,
) -> Result<(), ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Option<String>>,
{
    let limiter = &state.limiter;
    if !limiter.limits(class) {
        return Ok(());
    }
    let profile = if limiter.needs_profile(class) {
        profile().await
    } else {
        None
    };
    let ip = state.client_ip.of(req);
    match limiter.check(class, profile.as_deref(), owner, ip).await {
        Verdict::Allowed => Ok(()),
        Verdict::Refused {
            dimension,
            retry_after,
        } => Err(ApiError::RateLimited {
            dimension: dimension.as_str(),
            retry_after: retry_after_secs(
                u64::try_from(retry_after.as_micros()).unwrap_or(u64::MAX),
            ),
        }),
    }
}

/// A profile the request names itself.
pub fn known(profile: &str) -> impl FnOnce() -> std::future::Ready<Option<String>> {
    let profile = profile.to_owned();
    move || std::future::ready(Some(profile))
}

/// The profile of the caller's upload session `id`.
pub async fn session_profile(state: &AppState, id: UploadId, who: &Principal) -> Option<String> {
    sluice_core::upload::parts::pending_owned(&state.core, id, who)
        .await
        .ok()
        .map(|s| s.profile.clone())
}

/// The profile of the caller's file `id`.
pub async fn file_profile(state: &AppState, id: FileId, who: &Principal) -> Option<String> {
    sluice_core::file::service::get(&state.core, who, id)
        .await
        .ok()
        .map(|f| f.profile)
}
