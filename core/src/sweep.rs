//! The periodic backstop for every kind of job: whatever a job should have done but did
//! not (its row was lost, deleted by hand, or never written by an older version), the
//! sweep does or re-drives:
//! - live sessions past their deadline are expired (`ExpireSession`);
//! - sessions owed a cleanup that is overdue and has no job are given one
//!   (`CleanupSession`);
//! - sessions `verifying` for a while with no job are given one (`VerifyUpload`);
//! - multipart uploads in the bucket that no live session owns (a process died between
//!   the store creating one and the session being written) are aborted once older than
//!   `cleanup.stale_multipart_grace`; only keys under a profile's prefix are considered,
//!   so a bucket shared with other applications is safe (not where
//!   `storage.list_multipart_uploads` is off: the bucket's lifecycle rule does it);
//! - webhook deliveries still pending with no job are given one (`DeliverWebhook`);
//! - rows this version cannot read are counted and reported.
//!
//! Invariant: every step is a compare-and-set transition or an idempotent job, so a sweep
//! that overlaps another (a lease that ran out mid-pass) does no harm, only double work.
//! The caller (the worker's scheduler) takes the `sweep` lease so that normally it does not.

use crate::Core;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::jobs::{CleanupSession, DeliverWebhook, JobKind, ScanUpload, VerifyUpload};
use crate::outbox;
use crate::storage::StoreError;
use crate::upload::UploadState;
use crate::upload::repo;
use crate::upload::service::plan_context;
use crate::upload::state::{Event, has_deadline};
use crate::write::Write;

/// The lease every sweeping process competes for.
pub const LEASE: &str = "sweep";

/// How many sessions one step of a pass reads at a time (per lane, for the expiry).
const BATCH: u64 = 1_000;

/// Concurrent transactions of one expiry step (`by_owner`). Three measured faster than two
/// on a 2-core PostgreSQL beside two cleanup lanes (bench/RESULTS.md).
const LANES: usize = 3;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    /// The expiry step stopped at its time budget with overdue sessions left: the caller
    /// goes on (`expire_overdue`) while it still holds the lease.
    pub expiry_unfinished: bool,
    pub cleanups_redriven: usize,
    pub verifications_redriven: usize,
    /// `scanning` sessions whose `ScanUpload` job was lost, given one again.
    pub scans_redriven: usize,
    pub deliveries_redriven: usize,
    /// Job rows no worker started within a dispatch lease, run by the sweep itself.
    pub undelivered_run: usize,
    /// Stale multipart uploads aborted; `None` when the store cannot list them.
    pub strangers_aborted: Option<usize>,
    /// Job rows this version cannot read (a newer version wrote them).
    pub undecodable_jobs: u64,
}

/// One pass of every step.
pub async fn run(core: &Core) -> CoreResult<SweepReport> {
    let Expiry {
        expired,
        unfinished: expiry_unfinished,
    } = expire_overdue(core).await?;
    let cleanups_redriven = redrive_cleanups(core).await?;
    let verifications_redriven = redrive_verifications(core).await?;
    let scans_redriven = redrive_scans(core).await?;
    let deliveries_redriven = redrive_deliveries(core).await?;
    let undelivered_run = run_undelivered(core).await?;
    let strangers_aborted = abort_strangers(core).await?;
    let undecodable_jobs = outbox::backlog(&core.db, core.now()).await?.undecodable;
    Ok(SweepReport {
        expired,
        expiry_unfinished,
        cleanups_redriven,
        verifications_redriven,
        scans_redriven,
        deliveries_redriven,
        undelivered_run,
        strangers_aborted,
        undecodable_jobs,
    })
}

/// Job rows a pass runs itself at most.
const UNDELIVERED_PER_PASS: u64 = 20;

/// Runs job rows the queue was given but no worker started within a whole dispatch lease
/// of their due time, through the same `execute` a worker calls (its claim on the
/// dispatch token keeps a late worker from running one twice). apalis 1.0 workers were
/// seen to leave pushed messages unfetched for minutes (CI, under load); re-dispatching
/// alone put them back in the same queue. Logged per row, so a stall is never silent.
async fn run_undelivered(core: &Core) -> CoreResult<usize> {
    let lease = core.settings.queue.dispatch_lease.get();
    let rows = outbox::undelivered(&core.db, core.now(), lease, UNDELIVERED_PER_PASS).await?;
    let mut ran = 0;
    for row in rows {
        let Some(token) = row.dispatch_token.clone() else {
            continue;
        };
        tracing::warn!(job = %row.job, row = row.id, "no worker started this job within its dispatch lease; the sweep runs it");
        let dispatch = crate::jobs::Dispatch { row: row.id, token };
        match crate::jobs::execute(core, &dispatch).await {
            Ok(_) => ran += 1,
            Err(e) => {
                tracing::warn!(row = row.id, error = %e, "running an undelivered job failed; it runs again later")
            }
        }
    }
    Ok(ran)
}

/// Aborts multipart uploads under Sluice's prefixes that no live session owns and that
/// are older than the grace, store by store. `None` when no store can
/// list them. A store that is away is skipped until the next sweep; the others go on.
async fn abort_strangers(core: &Core) -> CoreResult<Option<usize>> {
    let mut total = None;
    for (name, store) in core.stores.iter() {
        if let Some(aborted) = abort_strangers_in(core, name, store.as_ref()).await? {
            total = Some(total.unwrap_or(0) + aborted);
        }
    }
    Ok(total)
}

/// `abort_strangers` in the store called `name`.
async fn abort_strangers_in(
    core: &Core,
    name: &str,
    store: &dyn crate::storage::ObjectStore,
) -> CoreResult<Option<usize>> {
    // `list_multipart_uploads = false`: the bucket's lifecycle rule
    // (AbortIncompleteMultipartUpload) reaps them instead.
    if !core
        .settings
        .store_settings(name)
        .is_some_and(|s| s.list_multipart_uploads())
    {
        return Ok(None);
    }
    let uploads = match store.list_multipart_uploads().await {
        Ok(uploads) => uploads,
        Err(StoreError::NotImplemented) => return Ok(None),
        Err(e) => {
            tracing::warn!(store = name, error = %e, "cannot list multipart uploads; the next sweep tries again");
            return Ok(Some(0));
        }
    };
    let cutoff = core.now() - core.settings.cleanup.stale_multipart_grace.chrono();
    // Every profile's prefix, whatever store it names now: a profile moved to another
    // store left its sessions (and strangers) in the old one.
    let prefixes: Vec<String> = core
        .settings
        .profiles
        .values()
        .map(|p| format!("{}/", p.key_prefix))
        .collect();
    let old: Vec<_> = uploads
        .into_iter()
        .filter(|u| u.initiated.is_some_and(|at| at < cutoff))
        .filter(|u| prefixes.iter().any(|p| u.key.starts_with(p.as_str())))
        .collect();
    let ids: Vec<String> = old.iter().map(|u| u.upload_id.clone()).collect();
    // Owned by a live session of any store: two store names may address one bucket
    // (other credentials, say), and each then lists the other's uploads too.
    let owned = repo::live_multipart_ids(&core.db, &ids).await?;
    let mut aborted = 0;
    for stranger in old.iter().filter(|u| !owned.contains(&u.upload_id)) {
        match store
            .abort_multipart(&stranger.key, &stranger.upload_id)
            .await
        {
            Ok(()) => {
                tracing::info!(store = name, key = %stranger.key, "aborted a multipart upload no session owns");
                aborted += 1;
            }
            Err(e) => {
                tracing::warn!(store = name, key = %stranger.key, error = %e, "could not abort a stale multipart upload")
            }
        }
    }
    Ok(Some(aborted))
}

/// What one expiry step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expiry {
    pub expired: usize,
    /// Stopped at the time budget with overdue sessions left.
    pub unfinished: bool,
}

/// Expires live sessions whose deadline passed, batch after batch until none is left or
/// the step has spent `sweep_interval` (half its lease, so a long backlog never lets a
/// second process start sweeping the same rows: the caller renews the lease and calls
/// again while `unfinished`). Each batch is `LANES` set-based transitions at once
/// (`repo::transition_batch`, split by owner): one transaction each, a few statements
/// whatever its size; rows another process moved meanwhile are simply skipped.
pub async fn expire_overdue(core: &Core) -> CoreResult<Expiry> {
    let budget = core.settings.queue.sweep_interval.get();
    let started = std::time::Instant::now();
    let mut expired = 0;
    loop {
        let now = core.now();
        let read = BATCH * LANES as u64;
        let overdue = repo::overdue(&core.db, now, read).await?;
        let full = overdue.len() as u64 == read;
        let items: Vec<repo::BatchItem> = overdue
            .into_iter()
            .filter(|s| has_deadline(s.state) && s.expires_at <= now)
            .map(|session| {
                let mut plan = plan_context(core, &session).plan;
                plan.now = now;
                repo::BatchItem {
                    detail: serde_json::json!({"deadline": session.expires_at}),
                    session,
                    plan,
                }
            })
            .collect();
        let lanes =
            futures::future::try_join_all(by_owner(items).into_iter().map(|lane| async move {
                let write = Write::begin(core).await?;
                let moved = repo::transition_batch(
                    &write,
                    lane,
                    Event::Expire,
                    &repo::Actor::System,
                    &core.settings.webhooks,
                    now,
                )
                .await?;
                write.commit().await?;
                CoreResult::Ok(moved)
            }))
            .await?;
        let batch: usize = lanes.iter().map(Vec::len).sum();
        expired += batch;
        // A batch that expired nothing (every row moved by someone else) would only be
        // read again.
        if !full || batch == 0 {
            return Ok(Expiry {
                expired,
                unfinished: false,
            });
        }
        if started.elapsed() >= budget {
            return Ok(Expiry {
                expired,
                unfinished: true,
            });
        }
    }
}

/// Splits a batch into `LANES` set-based transitions that run at once on their own
/// connections (one transaction runs its statements one after another: a lane keeps a
/// second database core busy). Lanes are split by owner, so no two of them touch the
/// same session or the same quota counter row, and they cannot deadlock.
fn by_owner(items: Vec<repo::BatchItem>) -> Vec<Vec<repo::BatchItem>> {
    let mut lanes: Vec<Vec<repo::BatchItem>> = (0..LANES).map(|_| Vec::new()).collect();
    for item in items {
        let hash = item
            .session
            .owner
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        lanes[hash as usize % LANES].push(item);
    }
    lanes.retain(|lane| !lane.is_empty());
    lanes
}

/// Gives a `CleanupSession` job to every session whose owed cleanup is overdue by more than
/// a dispatch lease and has none.
async fn redrive_cleanups(core: &Core) -> CoreResult<usize> {
    let cutoff = core.now() - core.settings.queue.dispatch_lease.chrono();
    let owed = repo::cleanup_overdue(&core.db, cutoff, BATCH).await?;
    let ids: Vec<UploadId> = owed.iter().map(|s| UploadId(s.id)).collect();
    redrive(core, CleanupSession::KIND, &ids, |upload_id| {
        CleanupSession { upload_id }.into()
    })
    .await
}

/// Gives a `VerifyUpload` job to every session `verifying` for longer than a dispatch lease
/// that has none.
async fn redrive_verifications(core: &Core) -> CoreResult<usize> {
    let cutoff = core.now() - core.settings.queue.dispatch_lease.chrono();
    let stuck = repo::in_state_since(&core.db, UploadState::Verifying, cutoff, BATCH).await?;
    let ids: Vec<UploadId> = stuck.iter().map(|s| UploadId(s.id)).collect();
    redrive(core, VerifyUpload::KIND, &ids, |upload_id| {
        VerifyUpload { upload_id }.into()
    })
    .await
}

/// Gives a `ScanUpload` job to every session `scanning` for longer than a dispatch lease
/// that has none.
async fn redrive_scans(core: &Core) -> CoreResult<usize> {
    let cutoff = core.now() - core.settings.queue.dispatch_lease.chrono();
    let stuck = repo::in_state_since(&core.db, UploadState::Scanning, cutoff, BATCH).await?;
    let ids: Vec<UploadId> = stuck.iter().map(|s| UploadId(s.id)).collect();
    redrive(core, ScanUpload::KIND, &ids, |upload_id| {
        ScanUpload { upload_id }.into()
    })
    .await
}

/// Gives a `DeliverWebhook` job to every delivery pending for longer than a dispatch
/// lease that has none.
async fn redrive_deliveries(core: &Core) -> CoreResult<usize> {
    let cutoff = core.now() - core.settings.queue.dispatch_lease.chrono();
    let pending = crate::webhooks::repo::pending_before(&core.db, cutoff, BATCH).await?;
    let uploads: Vec<UploadId> = pending
        .iter()
        .filter_map(|d| d.upload_id.map(UploadId))
        .collect();
    let jobs = outbox::payloads_of(&core.db, DeliverWebhook::KIND, &uploads).await?;
    let covered: Vec<i64> = jobs
        .iter()
        .filter_map(|p| p.get("delivery_id").and_then(serde_json::Value::as_i64))
        .collect();
    let now = core.now();
    let mut redriven = 0;
    for delivery in pending.iter().filter(|d| !covered.contains(&d.id)) {
        tracing::warn!(
            delivery = delivery.id,
            "webhook job lost; the sweep writes it again"
        );
        let job = DeliverWebhook {
            delivery_id: delivery.id,
            upload_id: delivery.upload_id.map(UploadId),
        };
        outbox::append_one(&core.db, now, job)
            .await?
            .wake(&core.relay);
        redriven += 1;
    }
    Ok(redriven)
}

/// Appends a job of `kind` (built by `job`) for each of `ids` that has none stored.
async fn redrive(
    core: &Core,
    kind: &str,
    ids: &[UploadId],
    job: impl Fn(UploadId) -> crate::jobs::Job,
) -> CoreResult<usize> {
    let covered = outbox::uploads_with_job(&core.db, kind, ids).await?;
    let now = core.now();
    let mut redriven = 0;
    for id in ids.iter().filter(|id| !covered.contains(id)) {
        tracing::warn!(upload_id = %id, kind, "job lost; the sweep writes it again");
        outbox::append_one(&core.db, now, job(*id))
            .await?
            .wake(&core.relay);
        redriven += 1;
    }
    Ok(redriven)
}
