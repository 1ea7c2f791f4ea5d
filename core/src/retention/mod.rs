//! Retention: the workers prune what Sluice no longer needs after `retention.*`, so the
//! tables hold what retention keeps instead of growing for ever. One pass (`prune`) runs
//! three steps, each in batches of `retention.batch` rows, each batch its own short
//! transaction:
//!
//! 1. ended sessions (rejected, aborted, expired, deleted) older than
//!    `retention.sessions`, with their whole trail: audit events, webhook deliveries and
//!    attempts, and any file row (see `sessions`);
//! 2. audit events older than `retention.audit_events`, of any session, never past what
//!    every configured sink has shipped;
//! 3. webhook deliveries delivered or given up longer than `retention.webhook_deliveries`
//!    ago, with their attempts;
//! 4. batches completed longer than `retention.sessions` ago none of whose sessions is
//!    left (a batch with a committed session stays, as the session does).
//!
//! Invariants: nothing quota still counts is pruned (a committed session never; a deleted
//! one only once clean and not created today, since today's count includes it), nor
//! anything still owed work (a cleanup, a late-PUT window, a held byte, a stored job, a
//! pending delivery), nor an unshipped audit event. A session's trail goes with it, in
//! the same transaction, so nothing is left pointing at a pruned session. Pruning writes
//! no audit event (the audit rows are what it prunes): it reports by metric and log.
//!
//! Batched DELETEs rather than time partitions on PostgreSQL: what may go is decided per
//! row (cursor, cleanups, pending deliveries, committed sessions live for ever), so no
//! partition ever becomes droppable as a whole; and the same code runs on SQLite.

mod sessions;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use sluice_entity::{audit_event, webhook_attempt, webhook_delivery};

use crate::Core;
use crate::config::Dur;
use crate::error::CoreResult;
use crate::webhooks::repo::PENDING;

/// The lease whose turns pace retention across processes.
pub const LEASE: &str = "retention";

/// Rows one pass removed, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub batches: u64,
    pub audit_events: u64,
    pub webhook_deliveries: u64,
    pub webhook_attempts: u64,
    pub files: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.sessions
            + self.batches
            + self.audit_events
            + self.webhook_deliveries
            + self.webhook_attempts
            + self.files
    }

    fn add(&mut self, other: Pruned) {
        self.sessions += other.sessions;
        self.batches += other.batches;
        self.audit_events += other.audit_events;
        self.webhook_deliveries += other.webhook_deliveries;
        self.webhook_attempts += other.webhook_attempts;
        self.files += other.files;
    }
}

/// One pass, if this process takes the turn (at most one per `retention.interval`
/// across every process): `None` when the turn is not due or another process has it.
pub async fn prune_turn(core: &Core, holder: &str) -> CoreResult<Option<Pruned>> {
    let period = core.settings.retention.interval.get();
    if !crate::lease::take_turn(&core.db, LEASE, holder, core.now(), period).await? {
        return Ok(None);
    }
    prune(core).await.map(Some)
}

/// One whole pass now: every step until nothing more is due. Reports what it removed
/// (metric `sluice_retention_pruned_total{table}` and one log line).
pub async fn prune(core: &Core) -> CoreResult<Pruned> {
    let now = core.now();
    let mut pruned = Pruned::default();
    let result = pass(core, now, &mut pruned).await;
    // Counted even when a later step failed: those rows are gone.
    report(core, &pruned);
    result.map(|()| pruned)
}

async fn pass(core: &Core, now: DateTime<Utc>, pruned: &mut Pruned) -> CoreResult<()> {
    let r = &core.settings.retention;
    // Read once per pass: events shipped later wait for the next pass.
    let shipped = crate::audit::sink::shipped_upto(core).await?;
    if let Some(cutoff) = cutoff(now, r.sessions) {
        let mut after = None;
        loop {
            let batch = sessions::prune_batch(core, now, cutoff, shipped, after).await?;
            pruned.add(batch.pruned);
            if !batch.more {
                break;
            }
            after = batch.last;
        }
    }
    if let Some(cutoff) = cutoff(now, r.audit_events) {
        loop {
            let n = audit_batch(&core.db, cutoff, shipped, r.batch).await?;
            pruned.audit_events += n;
            if n < r.batch {
                break;
            }
        }
    }
    if let Some(cutoff) = cutoff(now, r.sessions) {
        loop {
            let n = batches_batch(&core.db, cutoff, r.batch).await?;
            pruned.batches += n;
            if n < r.batch {
                break;
            }
        }
    }
    if let Some(cutoff) = cutoff(now, r.webhook_deliveries) {
        loop {
            let (deliveries, attempts, more) = deliveries_batch(&core.db, cutoff, r.batch).await?;
            pruned.webhook_deliveries += deliveries;
            pruned.webhook_attempts += attempts;
            if !more {
                break;
            }
        }
    }
    Ok(())
}

/// Rows last touched before this are old enough; `None` keeps them for ever.
fn cutoff(now: DateTime<Utc>, keep: Dur) -> Option<DateTime<Utc>> {
    (!keep.get().is_zero()).then(|| now - keep.chrono())
}

fn report(core: &Core, pruned: &Pruned) {
    let m = &core.metrics.retention_pruned;
    for (table, n) in [
        ("upload_sessions", pruned.sessions),
        ("upload_batches", pruned.batches),
        ("audit_events", pruned.audit_events),
        ("webhook_deliveries", pruned.webhook_deliveries),
        ("webhook_attempts", pruned.webhook_attempts),
        ("files", pruned.files),
    ] {
        m.with_label_values(&[table]).inc_by(n);
    }
    if pruned.total() > 0 {
        tracing::info!(
            sessions = pruned.sessions,
            batches = pruned.batches,
            audit_events = pruned.audit_events,
            webhook_deliveries = pruned.webhook_deliveries,
            webhook_attempts = pruned.webhook_attempts,
            files = pruned.files,
            "retention pruned"
        );
    }
}

/// Deletes up to `batch` audit events older than `cutoff` and shipped: one statement.
async fn audit_batch<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    shipped: Option<i64>,
    batch: u64,
) -> CoreResult<u64> {
    // By id, the order the stream (and the primary key) has: old events come first.
    let mut oldest = sea_orm::sea_query::Query::select()
        .column(audit_event::Column::Id)
        .from(audit_event::Entity)
        .and_where(Expr::col(audit_event::Column::At).lt(cutoff))
        .order_by(audit_event::Column::Id, sea_orm::Order::Asc)
        .limit(batch)
        .to_owned();
    if let Some(upto) = shipped {
        oldest.and_where(Expr::col(audit_event::Column::Id).lte(upto));
    }
    let result = audit_event::Entity::delete_many()
        .filter(audit_event::Column::Id.in_subquery(oldest))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deletes up to `batch` batches completed before `cutoff` that no session row names any
/// more: one statement.
async fn batches_batch<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> CoreResult<u64> {
    use sea_orm::sea_query::Query;
    use sluice_entity::{upload_batch, upload_session};
    let still_named = Query::select()
        .expr(Expr::val(1))
        .from(upload_session::Entity)
        .and_where(
            Expr::col((upload_session::Entity, upload_session::Column::BatchId))
                .equals((upload_batch::Entity, upload_batch::Column::Id)),
        )
        .to_owned();
    let gone = Query::select()
        .column(upload_batch::Column::Id)
        .from(upload_batch::Entity)
        .and_where(Expr::col(upload_batch::Column::CompletedAt).lt(cutoff))
        .and_where(Expr::exists(still_named).not())
        .limit(batch)
        .to_owned();
    let result = upload_batch::Entity::delete_many()
        .filter(upload_batch::Column::Id.in_subquery(gone))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Deletes up to `batch` finished deliveries older than `cutoff` with their attempts, in
/// one transaction. Returns (deliveries, attempts, whether more may be due).
async fn deliveries_batch(
    db: &sea_orm::DatabaseConnection,
    cutoff: DateTime<Utc>,
    batch: u64,
) -> CoreResult<(u64, u64, bool)> {
    let ids: Vec<i64> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::Status.ne(PENDING))
        .filter(webhook_delivery::Column::FinishedAt.lt(cutoff))
        .order_by_asc(webhook_delivery::Column::FinishedAt)
        .limit(batch)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok((0, 0, false));
    }
    let more = ids.len() as u64 == batch;
    let txn = db.begin().await?;
    let (deliveries, attempts) =
        delete_deliveries(&txn, webhook_delivery::Column::Id.is_in(ids)).await?;
    txn.commit().await?;
    Ok((deliveries, attempts, more))
}

/// Deletes the finished deliveries `which` selects, attempts first. A delivery still
/// pending is never among them, whatever `which` says.
async fn delete_deliveries<C: ConnectionTrait>(
    db: &C,
    which: sea_orm::sea_query::SimpleExpr,
) -> CoreResult<(u64, u64)> {
    let finished = sea_orm::sea_query::Query::select()
        .column(webhook_delivery::Column::Id)
        .from(webhook_delivery::Entity)
        .and_where(which.clone())
        .and_where(Expr::col(webhook_delivery::Column::Status).ne(PENDING))
        .to_owned();
    let attempts = webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::DeliveryId.in_subquery(finished))
        .exec(db)
        .await?
        .rows_affected;
    let deliveries = webhook_delivery::Entity::delete_many()
        .filter(which)
        .filter(webhook_delivery::Column::Status.ne(PENDING))
        .exec(db)
        .await?
        .rows_affected;
    Ok((deliveries, attempts))
}
