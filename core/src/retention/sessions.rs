//! Pruning ended sessions with their trail, a batch per transaction.
//!
//! A session may go only when it is safe to forget, checked in SQL on the row itself:
//! - ended without a file (`rejected`, `aborted`, `expired`) or `deleted`; never a live
//!   or committed one, which quota counts;
//! - last moved before `retention.sessions`;
//! - owes no cleanup (`cleanup_due_at` unset), holds no bytes (`held_bytes = 0`) and is
//!   past its late-PUT window (`urls_valid_until + cleanup.late_put_grace`);
//! - when `deleted`: cleaned (`cleaned_at` set) and not created today (UTC), because the
//!   day's upload count (and so reconciliation) includes deleted sessions;
//! - no stored job names it, no webhook delivery of it is pending, and every audit event
//!   of it has been shipped by every configured sink.
//!
//! The rows are taken with these conditions inside the batch's transaction (on
//! PostgreSQL `FOR UPDATE SKIP LOCKED`: a row another writer holds is left for later
//! instead of waited for). The trail goes first, then the rows, so the foreign keys of
//! `audit_events` and `files` are never broken.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use sluice_domain::UploadState;
use sluice_entity::upload_session::{self, Column as S};
use sluice_entity::{audit_event, file, outbox_job, webhook_delivery};
use uuid::Uuid;

use super::Pruned;
use crate::Core;
use crate::error::CoreResult;
use crate::webhooks::repo::PENDING;

/// What one batch removed, and whether another may find more after `last`.
pub(super) struct Batch {
    pub pruned: Pruned,
    pub more: bool,
    /// The greatest id the batch took: the next batch of the pass starts after it.
    pub last: Option<Uuid>,
}

const ENDED: [UploadState; 4] = [
    UploadState::Rejected,
    UploadState::Aborted,
    UploadState::Expired,
    UploadState::Deleted,
];

/// The conditions of the module header, as one SQL condition on `upload_sessions`.
fn prunable(
    core: &Core,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    shipped: Option<i64>,
    after: Option<Uuid>,
) -> Condition {
    let late_puts_end = now - core.settings.cleanup.late_put_grace.chrono();
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    let session_id = || Expr::col((upload_session::Entity, S::Id));
    let mut jobs = Query::select()
        .expr(Expr::val(1))
        .from(outbox_job::Entity)
        .and_where(Expr::col((outbox_job::Entity, outbox_job::Column::UploadId)).eq(session_id()))
        .to_owned();
    let mut pending = Query::select()
        .expr(Expr::val(1))
        .from(webhook_delivery::Entity)
        .and_where(
            Expr::col((webhook_delivery::Entity, webhook_delivery::Column::UploadId))
                .eq(session_id()),
        )
        .and_where(
            Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Status)).eq(PENDING),
        )
        .to_owned();
    if let Some(after) = after {
        // Said again inside the subqueries (it follows from the join), so that PostgreSQL
        // starts their index scans at the cursor too instead of at the first row.
        jobs.and_where(Expr::col((outbox_job::Entity, outbox_job::Column::UploadId)).gt(after));
        pending.and_where(
            Expr::col((webhook_delivery::Entity, webhook_delivery::Column::UploadId)).gt(after),
        );
    }
    let mut condition = Condition::all()
        .add(S::State.is_in(ENDED.map(|s| s.as_str())))
        .add(S::UpdatedAt.lt(cutoff))
        .add(S::CleanupDueAt.is_null())
        .add(S::HeldBytes.eq(0))
        .add(
            Condition::any()
                .add(S::UrlsValidUntil.is_null())
                .add(S::UrlsValidUntil.lt(late_puts_end)),
        )
        .add(
            Condition::any()
                .add(S::State.ne(UploadState::Deleted.as_str()))
                .add(
                    Condition::all()
                        .add(S::CleanedAt.is_not_null())
                        .add(S::CreatedAt.lt(today)),
                ),
        )
        .add(Expr::not_exists(jobs))
        .add(Expr::not_exists(pending));
    if let Some(after) = after {
        condition = condition.add(S::Id.gt(after));
    }
    if let Some(upto) = shipped {
        let unshipped = Query::select()
            .expr(Expr::val(1))
            .from(audit_event::Entity)
            .and_where(
                Expr::col((audit_event::Entity, audit_event::Column::UploadId)).eq(session_id()),
            )
            .and_where(Expr::col((audit_event::Entity, audit_event::Column::Id)).gt(upto))
            .to_owned();
        condition = condition.add(Expr::not_exists(unshipped));
    }
    condition
}

/// Prunes up to `retention.batch` sessions that are safe to forget, with their trail,
/// in one transaction: the rows are taken (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
/// passes share the work and no writer is waited for; SQLite: under its one write lock,
/// taken first so the transaction never reads a snapshot it then cannot write on).
///
/// A pass walks the table once in id order, each batch after the last one's greatest id
/// (`after`). Without the cursor every batch would read from the first row again, past
/// every session that stays (committed ones stay for ever) and past the dead rows of the
/// batches before it: a pass would cost the square of the table.
pub(super) async fn prune_batch(
    core: &Core,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    shipped: Option<i64>,
    after: Option<Uuid>,
) -> CoreResult<Batch> {
    let batch = core.settings.retention.batch;
    let txn = core.db.begin().await?;
    let backend = txn.get_database_backend();
    if backend == DbBackend::Sqlite {
        // A write that matches nothing still takes the database's write lock.
        upload_session::Entity::update_many()
            .col_expr(S::Version, Expr::col(S::Version))
            .filter(S::Id.eq(Uuid::nil()))
            .exec(&txn)
            .await?;
    }
    let mut taken = upload_session::Entity::find()
        .select_only()
        .column(S::Id)
        .column(S::State)
        .filter(prunable(core, now, cutoff, shipped, after))
        .order_by_asc(S::Id)
        .limit(batch);
    if backend == DbBackend::Postgres {
        taken = taken.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows: Vec<(Uuid, UploadState)> = taken.into_tuple().all(&txn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    // Only a committed session has a file row, and `deleted` is the only ended state
    // after it: the others need no lookup (an index probe per session otherwise).
    let deleted: Vec<Uuid> = rows
        .iter()
        .filter(|(_, state)| *state == UploadState::Deleted)
        .map(|(id, _)| *id)
        .collect();
    let mut pruned = Pruned::default();
    if !ids.is_empty() {
        pruned.audit_events = audit_event::Entity::delete_many()
            .filter(audit_event::Column::UploadId.is_in(ids.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        let (deliveries, attempts) = super::delete_deliveries(
            &txn,
            Expr::col(webhook_delivery::Column::UploadId).is_in(ids.clone()),
        )
        .await?;
        pruned.webhook_deliveries = deliveries;
        pruned.webhook_attempts = attempts;
        // Deleting a file removes its row; one left behind by older versions goes here.
        if !deleted.is_empty() {
            pruned.files = file::Entity::delete_many()
                .filter(file::Column::UploadId.is_in(deleted))
                .exec(&txn)
                .await?
                .rows_affected;
        }
        pruned.sessions = upload_session::Entity::delete_many()
            .filter(S::Id.is_in(ids.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
    }
    txn.commit().await?;
    Ok(Batch {
        pruned,
        more: ids.len() as u64 == batch,
        last: ids.last().copied(),
    })
}
