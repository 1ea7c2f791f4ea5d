//! Cleaning the bucket after a session leaves the books (rejected, aborted, expired,
//! deleted): the `CleanupSession` job's use case.
//!
//! Invariants:
//! - only a session whose row says a cleanup is owed and due is cleaned; committed files
//!   never owe one, so nothing here can touch a file the application keeps;
//! - a round that fails is retried by the job system forever, with capped backoff;
//! - a key is cleaned once more after the last upload URL issued for it expired, plus
//!   `cleanup.late_put_grace`, because a PUT can land until the URL expires (a slow
//!   transfer, a retry, a hostile client). Only then is the session recorded clean.

use chrono::{DateTime, Utc};

use crate::Core;
use crate::audit;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::upload::repo;
use crate::upload::state::is_terminal;

/// Runs the cleanup round owed by session `id`, if one is due.
pub async fn clean(core: &Core, id: UploadId) -> CoreResult<()> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(());
    };
    let now = core.now();
    let Some(due) = session.cleanup_due_at else {
        return Ok(());
    };
    // A later round has its own job at its own time; a live or committed session owes
    // nothing (the column is only ever set on the way into a terminal state).
    if due > now || !is_terminal(session.state) {
        return Ok(());
    }
    // What was there, for the audit: bytes freed matter for cost analysis.
    let stored = core.store.head(&session.key).await?;
    core.store.delete(&session.key).await?;
    if let Some(upload_id) = &session.multipart_upload_id {
        abort_multipart(core, &session.key, upload_id).await?;
    }
    let freed = stored.as_ref().map_or(0, |m| m.size);
    core.metrics
        .add_bytes("deleted", i64::try_from(freed).unwrap_or(i64::MAX));
    let again_at = late_round(core, session.urls_valid_until, now);
    if repo::record_cleanup(&core.db, &session, due, now, again_at).await? {
        let detail = serde_json::json!({
            "key": session.key,
            "bytes_freed": freed,
            "object_found": stored.is_some(),
            "final": again_at.is_none(),
        });
        let kind = audit::EventKind::Cleanup;
        audit::record(
            &core.db,
            kind,
            id,
            session.state,
            &repo::Actor::System,
            now,
            detail,
        )
        .await?;
    }
    match again_at {
        Some(at) => {
            tracing::info!(upload_id = %id, key = %session.key, next_round = %at, "key cleaned; once more after its last URL expires")
        }
        None => tracing::info!(upload_id = %id, key = %session.key, "key cleaned for good"),
    }
    Ok(())
}

/// Aborts the session's multipart upload. An upload that was completed meanwhile (a
/// completion racing the abort) cannot be aborted, and some stores then refuse with
/// AccessDenied instead of NoSuchUpload: it is gone if the store lists no parts for it.
async fn abort_multipart(core: &Core, key: &str, upload_id: &str) -> CoreResult<()> {
    match core.store.abort_multipart(key, upload_id).await {
        Ok(()) => Ok(()),
        Err(refused) => match core.store.list_parts(key, upload_id).await {
            Ok(parts) if parts.is_empty() => Ok(()),
            Err(crate::storage::StoreError::NoSuchUpload) => Ok(()),
            Ok(_) | Err(_) => Err(refused.into()),
        },
    }
}

/// When the key must be cleaned once more: after its last upload URL expired plus the
/// grace, if that is still ahead.
fn late_round(
    core: &Core,
    urls_valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last_put = crate::clock::add(
        urls_valid_until?,
        core.settings.cleanup.late_put_grace.get(),
    );
    (last_put > now).then_some(last_put)
}
