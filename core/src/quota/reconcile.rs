//! Quota accounting: recomputes every owner's counters from the sessions table and repairs
//! drift (a crash between systems cannot cause it, since counters move in the same
//! transactions as states; a hand-edited row, a bug or a restored backup can). Run on a
//! schedule by the workers and on demand by `sluice quota reconcile`.
//!
//! Invariant: each owner is reconciled in one transaction that first takes the locks of
//! its counter rows, so creates and transitions of that owner wait for it and the
//! numbers it reads and writes are consistent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use sluice_entity::quota_usage;
use sluice_entity::upload_session::{self, Column as S, UploadState};

use super::{TOTAL, day_of};
use crate::error::CoreResult;

/// One counter that was wrong, and what it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    pub owner: String,
    pub scope: String,
    pub counter: &'static str,
    pub was: i64,
    pub now: i64,
}

/// What the tables say one scope's counters should be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Expected {
    uploads_today: i64,
    bytes_today: i64,
    reserved_bytes: i64,
    stored_bytes: i64,
}

/// Reconciles every owner; returns what was repaired.
pub async fn reconcile_all(db: &DatabaseConnection, now: DateTime<Utc>) -> CoreResult<Vec<Repair>> {
    let mut owners: Vec<String> = upload_session::Entity::find()
        .select_only()
        .column(S::Owner)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let counted: Vec<String> = quota_usage::Entity::find()
        .select_only()
        .column(quota_usage::Column::Owner)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    owners.extend(counted);
    owners.sort();
    owners.dedup();
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
    let expected = expected(&txn, owner, now).await?;
    let today = day_of(now);
    let rows = super::repo::usage(&txn, owner).await?;
    let mut repairs = Vec::new();
    let mut scopes: Vec<&String> = expected.keys().collect();
    for row in &rows {
        if !expected.contains_key(&row.scope) {
            scopes.push(&row.scope);
        }
    }
    for scope in scopes {
        let want = expected.get(scope).copied().unwrap_or_default();
        let row = rows.iter().find(|r| &r.scope == scope);
        let have = match row {
            Some(r) if r.day == today => Expected {
                uploads_today: r.uploads_today,
                bytes_today: r.bytes_today,
                reserved_bytes: r.reserved_bytes,
                stored_bytes: r.stored_bytes,
            },
            // A row still counting an earlier day holds no uploads today.
            Some(r) => Expected {
                reserved_bytes: r.reserved_bytes,
                stored_bytes: r.stored_bytes,
                ..Expected::default()
            },
            None => Expected::default(),
        };
        if have == want && row.is_some_and(|r| r.day == today) {
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

/// The counters the sessions table implies, per scope (profiles and the total).
async fn expected<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    now: DateTime<Utc>,
) -> CoreResult<BTreeMap<String, Expected>> {
    let start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let end = start + chrono::Duration::days(1);
    let ended = [
        UploadState::Rejected,
        UploadState::Aborted,
        UploadState::Expired,
    ];
    let today = sums(
        db,
        owner,
        S::CreatedAt
            .gte(start)
            .and(S::CreatedAt.lt(end))
            .and(S::State.is_not_in(ended.map(|s| s.as_str()))),
    )
    .await?;
    let reserved = sums(
        db,
        owner,
        S::State.is_in([
            UploadState::Pending.as_str(),
            UploadState::Verifying.as_str(),
        ]),
    )
    .await?;
    let stored = sums(
        db,
        owner,
        S::State.is_in([
            UploadState::Uploaded.as_str(),
            UploadState::Committed.as_str(),
        ]),
    )
    .await?;
    // Bytes that may still land under an ended (or sealed) session's upload key.
    let held: Vec<(String, Option<i64>)> = upload_session::Entity::find()
        .select_only()
        .column(S::Profile)
        .expr(Func::sum(Expr::col(S::HeldBytes)).cast_as(Alias::new("BIGINT")))
        .filter(S::Owner.eq(owner))
        .filter(S::HeldBytes.ne(0))
        .group_by(S::Profile)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for (profile, bytes) in held {
        for scope in [profile.clone(), TOTAL.to_owned()] {
            out.entry(scope).or_default().reserved_bytes += bytes.unwrap_or(0);
        }
    }
    for (profile, count, bytes) in today {
        for scope in [profile.clone(), TOTAL.to_owned()] {
            let e = out.entry(scope).or_default();
            e.uploads_today += count;
            e.bytes_today += bytes;
        }
    }
    for (profile, _, bytes) in reserved {
        for scope in [profile.clone(), TOTAL.to_owned()] {
            out.entry(scope).or_default().reserved_bytes += bytes;
        }
    }
    for (profile, _, bytes) in stored {
        for scope in [profile.clone(), TOTAL.to_owned()] {
            out.entry(scope).or_default().stored_bytes += bytes;
        }
    }
    Ok(out)
}

/// (profile, count, bytes) of the owner's sessions matching `condition`.
async fn sums<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    condition: sea_orm::sea_query::SimpleExpr,
) -> CoreResult<Vec<(String, i64, i64)>> {
    let rows: Vec<(String, i64, Option<i64>)> = upload_session::Entity::find()
        .select_only()
        .column(S::Profile)
        .expr(Func::count(Expr::col(S::Id)))
        // PostgreSQL sums a bigint into a numeric: cast it back.
        .expr(Func::sum(Expr::col(S::Size)).cast_as(Alias::new("BIGINT")))
        .filter(S::Owner.eq(owner))
        .filter(condition)
        .group_by(S::Profile)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(profile, count, bytes)| (profile, count, bytes.unwrap_or(0)))
        .collect())
}
