//! Quota accounting: recomputes the counter rows from the sessions table and repairs
//! drift (a crash between systems cannot cause it, since counters move in the same
//! transactions as states; a hand-edited row, a bug, a restored backup, or a transition
//! racing a row's seeding can). Run on a schedule by the workers and on demand by `sluice
//! quota reconcile`, after `repo::forget_unlimited` dropped rows no limit needs.
//!
//! Only rows that exist are repaired: a scope without a row has no limit (its usage is
//! computed on read) or is seeded from the tables by its first reservation.
//!
//! Invariant: each owner is reconciled in one transaction that first takes the locks of
//! its counter rows, so creates and transitions of that owner wait for it and the
//! numbers it reads and writes are consistent.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use sluice_entity::quota_usage;

use super::computed::{self, Counters};
use super::day_of;
use crate::error::CoreResult;

/// The lease whose turns pace the workers' scheduled reconciliation (one per
/// `quota.reconcile_interval` across every process).
pub const LEASE: &str = "quota_reconcile";

/// One counter that was wrong, and what it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    pub owner: String,
    pub scope: String,
    pub counter: &'static str,
    pub was: i64,
    pub now: i64,
}

/// Reconciles every owner; returns what was repaired.
pub async fn reconcile_all(db: &DatabaseConnection, now: DateTime<Utc>) -> CoreResult<Vec<Repair>> {
    // Only owners with counter rows have anything to repair.
    let owners: Vec<String> = quota_usage::Entity::find()
        .select_only()
        .column(quota_usage::Column::Owner)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut repairs = Vec::new();
    for owner in owners {
        repairs.extend(reconcile_owner(db, &owner, now).await?);
    }
    for r in &repairs {
        tracing::warn!(owner = %r.owner, scope = %r.scope, counter = r.counter, was = r.was, now = r.now, "quota drift repaired");
    }
    Ok(repairs)
}

/// Reconciles one owner in one transaction.
pub async fn reconcile_owner(
    db: &DatabaseConnection,
    owner: &str,
    now: DateTime<Utc>,
) -> CoreResult<Vec<Repair>> {
    let txn = db.begin().await?;
    // Take the owner's counter rows first, in the order every writer takes them (by
    // scope): creates and transitions of this owner now wait for us.
    if txn.get_database_backend() == DbBackend::Sqlite {
        // No row locks in SQLite: a write takes the database's one write lock.
        quota_usage::Entity::update_many()
            .col_expr(
                quota_usage::Column::Day,
                Expr::col(quota_usage::Column::Day),
            )
            .filter(quota_usage::Column::Owner.eq(owner))
            .exec(&txn)
            .await?;
    } else {
        quota_usage::Entity::find()
            .filter(quota_usage::Column::Owner.eq(owner))
            .order_by_asc(quota_usage::Column::Scope)
            .lock_exclusive()
            .all(&txn)
            .await?;
    }
    let expected = computed::by_scope(&txn, owner, now).await?;
    let today = day_of(now);
    let rows = super::repo::usage(&txn, owner).await?;
    let mut repairs = Vec::new();
    for row in &rows {
        let scope = &row.scope;
        let want = expected.get(scope).copied().unwrap_or_default();
        let have = if row.day == today {
            Counters {
                uploads_today: row.uploads_today,
                bytes_today: row.bytes_today,
                reserved_bytes: row.reserved_bytes,
                stored_bytes: row.stored_bytes,
            }
        } else {
            // A row still counting an earlier day holds no uploads today.
            Counters {
                reserved_bytes: row.reserved_bytes,
                stored_bytes: row.stored_bytes,
                ..Counters::default()
            }
        };
        if have == want && row.day == today {
            continue;
        }
        for (counter, was, now_value) in [
            ("uploads_today", have.uploads_today, want.uploads_today),
            ("bytes_today", have.bytes_today, want.bytes_today),
            ("reserved_bytes", have.reserved_bytes, want.reserved_bytes),
            ("stored_bytes", have.stored_bytes, want.stored_bytes),
        ] {
            if was != now_value {
                repairs.push(Repair {
                    owner: owner.to_owned(),
                    scope: scope.clone(),
                    counter,
                    was,
                    now: now_value,
                });
            }
        }
        let model = quota_usage::ActiveModel {
            owner: sea_orm::Set(owner.to_owned()),
            scope: sea_orm::Set(scope.clone()),
            day: sea_orm::Set(today),
            uploads_today: sea_orm::Set(want.uploads_today),
            bytes_today: sea_orm::Set(want.bytes_today),
            reserved_bytes: sea_orm::Set(want.reserved_bytes),
            stored_bytes: sea_orm::Set(want.stored_bytes),
        };
        quota_usage::Entity::insert(model)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([
                    quota_usage::Column::Owner,
                    quota_usage::Column::Scope,
                ])
                .update_columns([
                    quota_usage::Column::Day,
                    quota_usage::Column::UploadsToday,
                    quota_usage::Column::BytesToday,
                    quota_usage::Column::ReservedBytes,
                    quota_usage::Column::StoredBytes,
                ])
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(repairs)
}
