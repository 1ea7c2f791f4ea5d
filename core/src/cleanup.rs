//! Cleaning the bucket after a session leaves the books (rejected, aborted, expired,
//! deleted), and the upload key of a sealed session: the `CleanupSession` job's use case.
//!
//! Invariants:
//! - only a session whose row says a cleanup is owed and due is cleaned; a live or
//!   committed session is owed one only for its upload key once its verified bytes were
//!   sealed under a key of their own, and the sealed key is deleted only once the session
//!   ended, so nothing here can touch bytes the application keeps;
//! - a multipart upload is aborted before its key is deleted: a completion racing the
//!   round then either finished first (and the delete removes what it assembled) or
//!   fails for want of an upload; deleting first would let it leave an object behind;
//! - a round that fails is retried by the job system forever, with capped backoff;
//! - a key is cleaned once more after the last upload URL issued for it expired, plus
//!   `cleanup.late_put_grace`, because a PUT can land until the URL expires (a slow
//!   transfer, a retry, a hostile client). Only then is the session recorded clean, and
//!   the bytes it held against quota released.

use chrono::{DateTime, Utc};

use crate::Core;
use crate::audit;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::naming;
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
    // A later round has its own job at its own time.
    if due > now {
        return Ok(());
    }
    let Some(sealed) = sealed_key_fate(&session) else {
        return Ok(());
    };
    // What was there, for the audit: bytes freed matter for cost analysis.
    let stored = core.store.head(&session.key).await?;
    if let Some(upload_id) = &session.multipart_upload_id {
        abort_multipart(core, &session.key, upload_id).await?;
    }
    core.store.delete(&session.key).await?;
    if let Some(sealed) = &sealed {
        core.store.delete(sealed).await?;
    }
    let freed = stored.as_ref().map_or(0, |m| m.size);
    core.metrics
        .add_bytes("deleted", i64::try_from(freed).unwrap_or(i64::MAX));
    let again_at = late_round(core, session.urls_valid_until, now);
    if repo::record_cleanup(&core.db, &session, due, now, again_at).await? {
        let detail = serde_json::json!({
            "key": session.key,
            "sealed_key": sealed,
            "bytes_freed": freed,
            "object_found": stored.is_some(),
            "final": again_at.is_none(),
            "held_bytes_released": if again_at.is_none() { session.held_bytes } else { 0 },
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

/// Which keys a round of `session` cleans besides its upload key: `None` when it owes
/// none at all (a live session whose bytes are not sealed), `Some(None)` for the upload
/// key alone (a live or committed session with sealed bytes, whose sealed key stays),
/// `Some(Some(sealed))` for an ended session that was or could have been sealed: a
/// verification that sealed the bytes and then lost its race to an abort leaves a copy
/// the row never recorded.
fn sealed_key_fate(session: &sluice_entity::upload_session::Model) -> Option<Option<String>> {
    if is_terminal(session.state) {
        let sealed = session
            .sealed_key
            .clone()
            .or_else(|| session.rewritable.then(|| naming::sealed_key(&session.key)));
        return Some(sealed);
    }
    session.sealed_key.as_ref().map(|_| None)
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
    let last_put = urls_valid_until? + core.settings.cleanup.late_put_grace.chrono();
    (last_put > now).then_some(last_put)
}
