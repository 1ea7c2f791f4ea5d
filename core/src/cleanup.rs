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
//! - rounds go in batches: the first job of a backlog takes every due round (up to
//!   `BATCH`, under the `cleanup` lease) and sends their keys in one DeleteObjects per
//!   store (each session's own, `session.store`); a key the store answers as failed, or
//!   a store that is away, keeps exactly its sessions' rounds owed; no HEAD
//!   before a delete (what was freed comes from what Sluice recorded). A batch
//!   transition writes one job per `BATCH` rounds it owes, and a full batch gives the
//!   next due round a job if it has none (`follow_up`): a backlog costs a job per
//!   thousand rounds, and every owed round still has a job or a batch coming;
//! - a round that fails is retried by the job system forever, with capped backoff;
//! - a key is cleaned once more after the last upload URL issued for it expired, plus
//!   `cleanup.late_put_grace`, because a PUT can land until the URL expires (a slow
//!   transfer, a retry, a hostile client). Only then is the session recorded clean, and
//!   the bytes it held against quota released.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sluice_domain::UploadState;
use sluice_entity::upload_session::Model;

use crate::Core;
use crate::audit;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::jobs::{CleanupSession, JobKind};
use crate::lease;
use crate::naming;
use crate::outbox;
use crate::storage::StoreError;
use crate::upload::repo::{self, CleanupRound};
use crate::upload::state::is_terminal;
use crate::write::Write;

/// The most sessions one round takes: S3's 1,000 keys of one DeleteObjects (a sealed
/// session has two keys, so a batch of those takes two requests).
pub const BATCH: u64 = 1000;

/// Batches one lease cleans at once (`by_owner`).
const LANES: usize = 2;

/// The lease a batch round holds, so that two workers do not send the same keys twice.
pub const LEASE: &str = "cleanup";

/// How long a round waits for another worker's batch before its job asks again later.
const LEASE_WAIT: Duration = Duration::from_secs(10);
const LEASE_POLL: Duration = Duration::from_millis(100);

/// How long a batch round may hold the lease; a round that takes longer only risks a
/// second round sending some keys again (deletes are idempotent).
const LEASE_TTL: Duration = Duration::from_secs(60);

/// Runs the cleanup round owed by session `id`, if one is due, together with every other
/// round that is due (up to `BATCH` per lane, `LANES` lanes at once), under the `cleanup`
/// lease: the first job of a backlog cleans a thousand keys per lane in one DeleteObjects
/// each, and the jobs of the sessions it cleaned then find nothing due. While another
/// worker holds the lease (its batch may already hold this round) the round waits for it,
/// up to `LEASE_WAIT`; `Ok(false)` if it is still held then, so the job asks again shortly
/// instead of sending the key alone. An error when `id`'s own round failed, so its job is
/// retried; the others that failed stay owed for their own jobs.
pub async fn clean(core: &Core, id: UploadId) -> CoreResult<bool> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(true);
    };
    let now = core.now();
    if !is_due(&session, now) {
        return Ok(true);
    }
    let holder = format!("cleanup-{}", uuid::Uuid::now_v7());
    let mut session = session;
    let mut waited = Duration::ZERO;
    while !lease::acquire(&core.db, LEASE, &holder, now, LEASE_TTL).await? {
        // Another worker's batch is running, likely with this round in it: wait for it
        // (batches are short) rather than send this key alone, then look again.
        if waited >= LEASE_WAIT {
            return Ok(false);
        }
        tokio::time::sleep(LEASE_POLL).await;
        waited += LEASE_POLL;
        match repo::find(&core.db, id).await? {
            Some(again) if is_due(&again, now) => session = again,
            _ => return Ok(true),
        }
    }
    let mut batch = vec![session];
    let mut full = false;
    let take = BATCH * LANES as u64;
    let result = match repo::cleanup_overdue(&core.db, now, take).await {
        Ok(due) => {
            full = due.len() as u64 >= take;
            batch.extend(due.into_iter().filter(|s| s.id != id.0));
            let lanes = by_owner(batch)
                .into_iter()
                .map(|lane| clean_batch(core, lane, now));
            futures::future::try_join_all(lanes)
                .await
                .map(|failed| failed.into_iter().flatten().collect::<Vec<_>>())
        }
        Err(e) => Err(e),
    };
    if let Err(e) = lease::release(&core.db, LEASE, &holder).await {
        tracing::warn!(error = %e, "cleanup lease not given back; it runs out by itself");
    }
    if full {
        follow_up(core, now).await?;
    }
    match result?.into_iter().find(|(failed, _)| *failed == id) {
        Some((_, why)) => Err(why.into()),
        None => Ok(true),
    }
}

/// After a full batch more rounds may be due, some of them without a job of their own (a
/// batch transition gives one job per `BATCH` rounds it owes): the oldest due round is
/// given a job if it has none, so a backlog is cleaned batch after batch, never left to
/// the sweep's redrive.
async fn follow_up(core: &Core, now: DateTime<Utc>) -> CoreResult<()> {
    let Some(next) = repo::cleanup_overdue(&core.db, now, 1).await?.pop() else {
        return Ok(());
    };
    let next = UploadId(next.id);
    let covered = outbox::uploads_with_job(&core.db, CleanupSession::KIND, &[next]).await?;
    if !covered.contains(&next) {
        outbox::append_one(&core.db, now, CleanupSession { upload_id: next })
            .await?
            .wake(&core.relay);
    }
    Ok(())
}

/// Splits the rounds of one lease into `LANES` batches cleaned at once (their
/// DeleteObjects and their recording overlap), by owner, so no two batches release held
/// bytes on the same quota counter row.
fn by_owner(sessions: Vec<Model>) -> Vec<Vec<Model>> {
    let mut lanes: Vec<Vec<Model>> = (0..LANES).map(|_| Vec::new()).collect();
    for session in sessions {
        let hash = session
            .owner
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        lanes[hash as usize % LANES].push(session);
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Whether `session` owes a round now.
fn is_due(session: &Model, now: DateTime<Utc>) -> bool {
    session.cleanup_due_at.is_some_and(|due| due <= now) && sealed_key_fate(session).is_some()
}

/// Cleans the due rounds of `sessions` together: each multipart upload aborted first,
/// then every key of the batch in one `delete_many` (DeleteObjects, 1,000 keys a
/// request), then every round whose keys all went recorded in one transaction, with its
/// audit events. No HEAD: what was freed comes from what Sluice recorded. Returns the
/// sessions whose round failed, each with why; they stay owed.
pub async fn clean_batch(
    core: &Core,
    sessions: Vec<Model>,
    now: DateTime<Utc>,
) -> CoreResult<Vec<(UploadId, StoreError)>> {
    let mut failed = Vec::new();
    let mut ready: Vec<(Model, Vec<String>)> = Vec::new();
    for session in sessions.into_iter().filter(|s| is_due(s, now)) {
        let Some(sealed) = sealed_key_fate(&session) else {
            continue;
        };
        if let Some(upload_id) = &session.multipart_upload_id
            && let Err(e) = abort_multipart(core, &session, upload_id).await
        {
            failed.push((UploadId(session.id), e));
            continue;
        }
        let mut keys = vec![session.key.clone()];
        keys.extend(sealed);
        ready.push((session, keys));
    }
    let refused = delete_per_store(core, &ready).await;
    let mut rounds = Vec::new();
    for (session, keys) in ready {
        if let Some(why) = refused
            .get(&session.store)
            .and_then(|refused| match refused {
                Err(outage) => Some(outage.clone()),
                Ok(keys_refused) => keys_refused
                    .iter()
                    .find(|(key, _)| keys.contains(key))
                    .map(|(_, why)| why.clone()),
            })
        {
            failed.push((UploadId(session.id), why));
            continue;
        }
        let due = session.cleanup_due_at.unwrap_or(now);
        let again_at = late_round(core, session.urls_valid_until, now);
        rounds.push(CleanupRound {
            session,
            due,
            again_at,
        });
    }
    let write = Write::begin(core).await?;
    let recorded = repo::record_cleanups(&write, rounds, now).await?;
    write.commit().await?;
    let mut notes = Vec::with_capacity(recorded.len());
    let mut freed = 0i64;
    for round in &recorded {
        let s = &round.session;
        // Bytes Sluice knew were stored: a deleted file, or sealed verified bytes.
        let known = s.state == UploadState::Deleted || s.sealed_key.is_some();
        if known {
            freed = freed.saturating_add(s.size);
        }
        notes.push(audit::Note {
            upload_id: UploadId(s.id),
            state: s.state,
            detail: serde_json::json!({
                "key": s.key,
                "sealed_key": sealed_key_fate(s).flatten(),
                "recorded_size": s.size,
                "final": round.again_at.is_none(),
                "held_bytes_released": if round.again_at.is_none() { s.held_bytes } else { 0 },
            }),
        });
        match round.again_at {
            Some(at) => {
                tracing::info!(upload_id = %s.id, key = %s.key, next_round = %at, "key cleaned; once more after its last URL expires")
            }
            None => tracing::info!(upload_id = %s.id, key = %s.key, "key cleaned for good"),
        }
    }
    core.metrics.add_bytes("deleted", freed);
    audit::record_many(
        &core.db,
        audit::EventKind::Cleanup,
        &repo::Actor::System,
        now,
        notes,
    )
    .await?;
    Ok(failed)
}

/// Deletes the keys of `ready` rounds store by store (the stores' DeleteObjects run at
/// once): per store, the keys it refused each with why, or the outage that stopped its
/// whole round. A store that is away fails only its own sessions' rounds.
async fn delete_per_store(
    core: &Core,
    ready: &[(Model, Vec<String>)],
) -> std::collections::BTreeMap<String, Result<Vec<(String, StoreError)>, StoreError>> {
    let mut by_store: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (session, keys) in ready {
        by_store
            .entry(session.store.as_str())
            .or_default()
            .extend(keys.iter().cloned());
    }
    let deletes = by_store.into_iter().map(|(name, keys)| async move {
        let answer = match core.store(name) {
            Ok(store) => crate::storage::delete_keys(store.as_ref(), &keys).await,
            Err(e) => Err(e),
        };
        (name.to_owned(), answer)
    });
    futures::future::join_all(deletes)
        .await
        .into_iter()
        .collect()
}

/// Which keys a round of `session` cleans besides its upload key: `None` when it owes
/// none at all (a live session whose bytes are not sealed), `Some(None)` for the upload
/// key alone (a live or committed session with sealed bytes, whose sealed key stays),
/// `Some(Some(sealed))` for an ended session that was or could have been sealed: a
/// verification that sealed the bytes and then lost its race to an abort leaves a copy
/// the row never recorded.
fn sealed_key_fate(session: &Model) -> Option<Option<String>> {
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
async fn abort_multipart(core: &Core, session: &Model, upload_id: &str) -> Result<(), StoreError> {
    let store = core.store(&session.store)?;
    let key = &session.key;
    match store.abort_multipart(key, upload_id).await {
        Ok(()) => Ok(()),
        Err(refused) => match store.list_parts(key, upload_id).await {
            Ok(parts) if parts.is_empty() => Ok(()),
            Err(StoreError::NoSuchUpload) => Ok(()),
            Ok(_) | Err(_) => Err(refused),
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

/// The `CleanupSession` job's handler (declared in `crate::jobs`).
impl crate::jobs::RunJob for crate::jobs::CleanupSession {
    async fn run(self, core: &Core) -> CoreResult<crate::jobs::Ran> {
        if clean(core, self.upload_id).await? {
            Ok(crate::jobs::Ran::Done)
        } else {
            // Another worker is cleaning a batch, likely this round with it.
            Ok(crate::jobs::Ran::WaitFor(Duration::from_secs(1)))
        }
    }
}
