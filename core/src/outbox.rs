//! The job table (a transactional outbox that keeps its rows): use cases write jobs here
//! inside the transaction of the state change that owes them; relays claim due rows and
//! hand them to the queue; the worker that runs a job deletes its row, or reschedules it
//! for a retry.
//!
//! Invariants:
//! - a row is claimed by one relay at a time: the claim is a compare-and-set on its
//!   dispatch state, and a claim older than the dispatch lease counts as lost (the queue
//!   or the worker dropped it), so the row is dispatched again;
//! - a row this version cannot read is never deleted: it is parked (its due time pushed
//!   back, its attempts counted) until a version that knows it runs it;
//! - a row is due by the core's clock, so tests that jump the clock make jobs due.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sluice_entity::outbox_job::{self, Column, Entity, Model};
use tokio::sync::Notify;

use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::jobs::{Job, NewJob};

/// The message of a failed decode starts with this, so parked rows can be counted.
const UNDECODABLE: &str = "undecodable: ";

/// Wakes the relay after a commit so jobs due now are dispatched at once.
#[derive(Clone, Debug, Default)]
pub struct RelaySignal(Arc<Notify>);

impl RelaySignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// What a write to the job table left due, for whoever commits it: whether a job is due
/// now, so the relay must be woken after the commit instead of leaving the job to its
/// timer. Inside a state change [`crate::write::Write`] keeps it; a write on a bare
/// connection (autocommit) wakes at once with [`Due::wake`].
#[must_use = "after the commit, `.wake(&core.relay)`, or the job waits for the relay's timer"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due(bool);

impl Due {
    /// A job is due now.
    pub const NOW: Due = Due(true);
    /// Nothing is due before the relay's own schedule finds it.
    pub const LATER: Due = Due(false);

    pub fn is_now(self) -> bool {
        self.0
    }

    /// Wakes the relay if a job is due now (call after the commit).
    pub fn wake(self, relay: &RelaySignal) {
        if self.0 {
            relay.wake();
        }
    }
}

/// Appends jobs (call inside the transaction of the state change; a `Write` does).
/// Returns whether one of them is due by `now`.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    jobs: &[NewJob],
) -> CoreResult<Due> {
    // Every job appended here is caused by the current span: its run joins that trace.
    let trace_parent = crate::telemetry::current_traceparent();
    // One INSERT per chunk: a batch transition owes hundreds of jobs at once. Bounded so
    // the statement's parameters stay far below every backend's limit.
    for chunk in jobs.chunks(500) {
        let rows = chunk.iter().map(|job| outbox_job::ActiveModel {
            job: Set(job.job.kind().to_owned()),
            payload: Set(job.job.payload()),
            run_at: Set(job.run_at),
            created_at: Set(now),
            attempts: Set(0),
            upload_id: Set(job.job.upload_id().map(|id| id.0)),
            dispatched_at: Set(None),
            dispatch_token: Set(None),
            last_error: Set(None),
            trace_parent: Set(trace_parent.clone()),
            ..Default::default()
        });
        Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(Due(jobs.iter().any(|job| job.run_at <= now)))
}

/// Deletes the waiting (not dispatched) jobs of `upload` that its state owed: it is
/// leaving that state (call inside the transition's transaction).
pub async fn cancel_state_jobs<C: ConnectionTrait>(db: &C, upload: UploadId) -> CoreResult<()> {
    cancel_state_jobs_of(db, &[upload]).await
}

/// `cancel_state_jobs` for many sessions at once (a batch transition).
pub async fn cancel_state_jobs_of<C: ConnectionTrait>(
    db: &C,
    uploads: &[UploadId],
) -> CoreResult<()> {
    for chunk in uploads.chunks(500) {
        let kinds = Job::KINDS
            .iter()
            .filter(|k| k.ends_with_state)
            .map(|k| k.name);
        Entity::delete_many()
            .filter(Column::UploadId.is_in(chunk.iter().map(|u| u.0)))
            .filter(Column::Job.is_in(kinds))
            .filter(Column::DispatchedAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> CoreResult<Option<Model>> {
    Ok(Entity::find_by_id(id).one(db).await?)
}

/// Rows that are due and not held by a live dispatch.
fn claimable(now: DateTime<Utc>, lease: Duration) -> Condition {
    let lost_before = now - chrono::Duration::from_std(lease).unwrap_or_default();
    Condition::all().add(Column::RunAt.lte(now)).add(
        Condition::any()
            .add(Column::DispatchedAt.is_null())
            .add(Column::DispatchedAt.lte(lost_before)),
    )
}

/// Claims up to `limit` due rows, oldest due first, for one dispatch identified by
/// `token`. Two relays racing for a row: the second's update finds it claimed and skips it.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: Duration,
    token: &str,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    let ids: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(claimable(now, lease))
        .order_by_asc(Column::RunAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::update_many()
        .col_expr(Column::DispatchedAt, Expr::value(now))
        .col_expr(Column::DispatchToken, Expr::value(token))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .filter(claimable(now, lease))
        .exec(db)
        .await?;
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids))
        .filter(Column::DispatchToken.eq(token))
        .order_by_asc(Column::RunAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// Gives a claimed row back (the queue refused it), so the next pass dispatches it.
pub async fn unclaim<C: ConnectionTrait>(db: &C, id: i64, token: &str) -> CoreResult<()> {
    Entity::update_many()
        .col_expr(
            Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::DispatchToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .filter(Column::DispatchToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// The job ran (or was given up): the row goes.
pub async fn finish<C: ConnectionTrait>(db: &C, id: i64) -> CoreResult<()> {
    Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// The job failed and runs again at `at`; only the current dispatch may reschedule.
pub async fn reschedule<C: ConnectionTrait>(
    db: &C,
    row: &Model,
    token: &str,
    at: DateTime<Utc>,
    error: &str,
) -> CoreResult<()> {
    Entity::update_many()
        .col_expr(Column::RunAt, Expr::value(at))
        .col_expr(
            Column::Attempts,
            Expr::value(row.attempts.saturating_add(1)),
        )
        .col_expr(
            Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::DispatchToken, Expr::value(Option::<String>::None))
        .col_expr(Column::LastError, Expr::value(truncate(error)))
        .filter(Column::Id.eq(row.id))
        .filter(Column::DispatchToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// The job waits for another: runs again at `at`, its attempts unchanged.
pub async fn postpone<C: ConnectionTrait>(
    db: &C,
    row: &Model,
    token: &str,
    at: DateTime<Utc>,
) -> CoreResult<()> {
    Entity::update_many()
        .col_expr(Column::RunAt, Expr::value(at))
        .col_expr(
            Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::DispatchToken, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(row.id))
        .filter(Column::DispatchToken.eq(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Makes parked rows due now (what they waited for has ended). A row due already keeps
/// its time, so its place in line is kept.
///
/// Every row named is written, even one left as it is: the write takes the row's lock
/// until the waker's transaction ends. A job that is running and about to park (its
/// `postpone`) then waits for that transaction, so its look after the park
/// (`JobKind::still_parked`) sees the ended wait. With a filtered write instead, the
/// park and that look could both fall between the wake and its commit, and the
/// wake-up would be lost until the park's backstop.
pub async fn wake<C: ConnectionTrait>(db: &C, ids: &[i64], now: DateTime<Utc>) -> CoreResult<Due> {
    if ids.is_empty() {
        return Ok(Due::LATER);
    }
    let earliest = sea_orm::sea_query::CaseStatement::new()
        .case(Column::RunAt.gt(now), Expr::value(now))
        .finally(Expr::col(Column::RunAt));
    Entity::update_many()
        .col_expr(Column::RunAt, earliest.into())
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(Due::NOW)
}

/// Every row of jobs of `kind`, with its payload (to find jobs by what they carry: the
/// deliveries of a resumed webhook endpoint).
pub async fn rows_of_kind<C: ConnectionTrait>(
    db: &C,
    kind: &str,
) -> CoreResult<Vec<(i64, serde_json::Value)>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Payload)
        .filter(Column::Job.eq(kind))
        .into_tuple()
        .all(db)
        .await?)
}

/// The rows of jobs of `kind` about `upload`, with their payloads (to find one job).
pub async fn rows_of<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    upload: UploadId,
) -> CoreResult<Vec<(i64, serde_json::Value)>> {
    Ok(Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Payload)
        .filter(Column::Job.eq(kind))
        .filter(Column::UploadId.eq(upload.0))
        .into_tuple()
        .all(db)
        .await?)
}

/// A row this version cannot read: keep it, count the attempt, look again later (sooner
/// at first, so a newer replica that can read it is not kept waiting long). Logged the
/// first time only.
pub async fn park<C: ConnectionTrait>(
    db: &C,
    row: &Model,
    now: DateTime<Utc>,
    reason: &str,
) -> CoreResult<()> {
    let attempts = row.attempts.saturating_add(1);
    let wait = 1i64 << attempts.clamp(1, 8);
    if row.attempts == 0 {
        tracing::warn!(row = row.id, kind = %row.job, %reason, "job row left for a version that can read it");
    }
    Entity::update_many()
        .col_expr(
            Column::RunAt,
            Expr::value(now + chrono::Duration::seconds(wait)),
        )
        .col_expr(Column::Attempts, Expr::value(attempts))
        .col_expr(
            Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::DispatchToken, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LastError,
            Expr::value(truncate(&format!("{UNDECODABLE}{reason}"))),
        )
        .filter(Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Rows due by `now`, dispatched or not: zero means every due job has run.
pub async fn due_count<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> CoreResult<u64> {
    Ok(Entity::find()
        .filter(Column::RunAt.lte(now))
        .count(db)
        .await?)
}

/// The rows due by `now`, oldest first, at most `limit` (what a drain that gave up was
/// waiting for, for its message).
pub async fn due_rows<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::RunAt.lte(now))
        .order_by_asc(Column::RunAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Rows handed to the queue that no worker has started although they fell due a whole
/// dispatch lease ago (`attempts` still 0), oldest first: what the transport failed to
/// deliver (the sweep runs them itself, see `sweep::run_undelivered`).
pub async fn undelivered<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    let before = now - chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    Ok(Entity::find()
        .filter(Column::DispatchToken.is_not_null())
        .filter(Column::Attempts.eq(0))
        .filter(Column::RunAt.lte(before))
        .filter(Column::DispatchedAt.lte(now))
        .order_by_asc(Column::RunAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// A job row in one line, for a message about rows that did not run.
pub fn describe(row: &Model) -> String {
    format!(
        "{} #{} run_at {} dispatched_at {:?} attempts {} error {:?}",
        row.job, row.id, row.run_at, row.dispatched_at, row.attempts, row.last_error
    )
}

/// When the next row becomes claimable (due, or its dispatch lease runs out).
pub async fn next_claimable<C: ConnectionTrait>(
    db: &C,
    lease: Duration,
) -> CoreResult<Option<DateTime<Utc>>> {
    let next_run: Option<Option<DateTime<Utc>>> = Entity::find()
        .select_only()
        .expr(Func::min(Expr::col(Column::RunAt)))
        .filter(Column::DispatchedAt.is_null())
        .into_tuple()
        .one(db)
        .await?;
    let oldest_dispatch: Option<Option<DateTime<Utc>>> = Entity::find()
        .select_only()
        .expr(Func::min(Expr::col(Column::DispatchedAt)))
        .into_tuple()
        .one(db)
        .await?;
    let lease = chrono::Duration::from_std(lease).unwrap_or_default();
    let lease_end = oldest_dispatch.flatten().map(|at| at + lease);
    Ok([next_run.flatten(), lease_end].into_iter().flatten().min())
}

/// The job table at a glance, for `/readyz`, logs and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Every row (due, waiting for its time, or dispatched).
    pub total: u64,
    /// Rows due now.
    pub due: u64,
    /// Rows this version could not read.
    pub undecodable: u64,
    /// Due time of the oldest due row.
    pub oldest_due: Option<DateTime<Utc>>,
}

pub async fn backlog<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> CoreResult<Backlog> {
    let total = Entity::find().count(db).await?;
    let due = due_count(db, now).await?;
    let undecodable = Entity::find()
        .filter(Column::LastError.starts_with(UNDECODABLE))
        .count(db)
        .await?;
    let oldest_due: Option<Option<DateTime<Utc>>> = Entity::find()
        .select_only()
        .expr(Func::min(Expr::col(Column::RunAt)))
        .filter(Column::RunAt.lte(now))
        .into_tuple()
        .one(db)
        .await?;
    Ok(Backlog {
        total,
        due,
        undecodable,
        oldest_due: oldest_due.flatten(),
    })
}

/// Which of `uploads` have a stored job of `kind` (for the sweep's lost-job checks).
pub async fn uploads_with_job<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    uploads: &[UploadId],
) -> CoreResult<Vec<UploadId>> {
    if uploads.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Option<uuid::Uuid>> = Entity::find()
        .select_only()
        .column(Column::UploadId)
        .filter(Column::Job.eq(kind))
        .filter(Column::UploadId.is_in(uploads.iter().map(|u| u.0)))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().flatten().map(UploadId).collect())
}

/// The payloads of the stored jobs of `kind` about `uploads`.
pub async fn payloads_of<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    uploads: &[UploadId],
) -> CoreResult<Vec<serde_json::Value>> {
    if uploads.is_empty() {
        return Ok(Vec::new());
    }
    Ok(Entity::find()
        .select_only()
        .column(Column::Payload)
        .filter(Column::Job.eq(kind))
        .filter(Column::UploadId.is_in(uploads.iter().map(|u| u.0)))
        .into_tuple()
        .all(db)
        .await?)
}

/// Appends one job outside any use case (the sweep re-driving a lost one).
pub async fn append_one<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    job: impl Into<Job>,
) -> CoreResult<Due> {
    append(db, now, &[NewJob::at(job, now)]).await
}

fn truncate(text: &str) -> String {
    text.chars().take(1_000).collect()
}
