//! The `quota_usage` table: reservations (conditional updates that refuse to overshoot)
//! and reads. With `changes` (what transitions apply), the only code that writes the
//! counters (besides reconcile's repairs).
//!
//! Invariant: a counter row exists only for a scope some configuration limits; it starts
//! from the usage the tables hold and then moves with every reservation and transition.
//! Rows of scopes that lost their limit are forgotten (`forget_unlimited`), so a limit
//! added again later starts from the true usage, never from a row that stopped counting.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use sluice_entity::quota_usage::{Column, Entity, Model};

use super::{Scope, computed, day_of};
use crate::error::{CoreError, CoreResult};

/// Makes sure the counter row of (owner, scope) exists and counts `today`: a missing row
/// starts from the usage the tables hold (`computed::seed`), so a limit added to a scope
/// that already has uploads counts them; a row of an earlier day starts the day afresh.
/// Concurrent first reservations of one scope meet on the primary key: one inserts, the
/// others wait for it and then take the row's lock.
async fn ensure_today<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    scope: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> CoreResult<()> {
    let today = day_of(now);
    let statement = Query::insert()
        .into_table(Entity)
        .columns([
            Column::Owner,
            Column::Scope,
            Column::Day,
            Column::UploadsToday,
            Column::BytesToday,
            Column::ReservedBytes,
            Column::StoredBytes,
        ])
        .select_from(computed::seed(owner, scope, now))
        .map_err(|e| CoreError::Internal(format!("quota seed: {e}")))?
        .on_conflict(
            OnConflict::columns([Column::Owner, Column::Scope])
                .value(Column::Day, today)
                .value(Column::UploadsToday, 0i64)
                .value(Column::BytesToday, 0i64)
                .action_and_where(Expr::col((Entity, Column::Day)).lt(today))
                .to_owned(),
        )
        .to_owned();
    db.execute(&statement).await?;
    Ok(())
}

/// Reserves one upload of `size` bytes created at `now` in every scope that has a limit,
/// or refuses with the first limit it would break. Call inside the transaction that
/// writes the session. A scope without a limit is not written at all (its usage is
/// computed on read), so creates that no limit concerns never meet on a row. A limited
/// scope costs one conditional UPDATE while its row counts today; the first reservation
/// of a day (or ever) also runs `ensure_today`.
pub async fn reserve<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    scopes: &[Scope],
    now: chrono::DateTime<chrono::Utc>,
    size: u64,
) -> CoreResult<()> {
    let one = Reservation {
        uploads: 1,
        bytes: size,
    };
    let scoped: Vec<(&Scope, Reservation)> = scopes.iter().map(|s| (s, one)).collect();
    reserve_many(db, owner, &scoped, now).await
}

/// What one reservation adds to a scope: a number of uploads and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reservation {
    pub uploads: u64,
    pub bytes: u64,
}

/// Reserves, per scope, `uploads` uploads of `bytes` bytes in all, or refuses with the
/// first limit the whole would break (a batch fits entirely or not at all). `scoped` must
/// be in lock order (totals before profiles, as `quota::scopes` gives them).
pub async fn reserve_many<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    scoped: &[(&Scope, Reservation)],
    now: chrono::DateTime<chrono::Utc>,
) -> CoreResult<()> {
    for (scope, wanted) in scoped.iter().filter(|(s, _)| !s.limits.is_unlimited()) {
        if take(db, owner, scope, now, *wanted).await? {
            continue;
        }
        // No row yet, a row of an earlier day, or a limit reached. Only the first two
        // need the row made (seeding reads the owner's sessions: never for a refusal).
        let row = Entity::find_by_id((owner.to_owned(), scope.name.clone()))
            .one(db)
            .await?;
        if row.is_none_or(|r| r.day != day_of(now)) {
            ensure_today(db, owner, &scope.name, now).await?;
        }
        // Taken again even when the row was there: on PostgreSQL the first UPDATE's
        // snapshot may predate the commit of a concurrent first reservation that made the
        // row, which this read then sees. Only an UPDATE that sees the row and finds a
        // limit broken is a refusal.
        if take(db, owner, scope, now, *wanted).await? {
            continue;
        }
        return Err(exceeded(db, owner, scope, now, *wanted).await?);
    }
    Ok(())
}

/// The conditional UPDATE of one reservation: adds the upload to a row counting today
/// if every limit of the scope still holds. Whether it did.
async fn take<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    scope: &Scope,
    now: chrono::DateTime<chrono::Utc>,
    wanted: Reservation,
) -> CoreResult<bool> {
    let limits = scope.limits;
    let uploads = as_i64(wanted.uploads);
    let size = as_i64(wanted.bytes);
    let mut update = Entity::update_many()
        .col_expr(
            Column::UploadsToday,
            Expr::col(Column::UploadsToday).add(uploads),
        )
        .col_expr(Column::BytesToday, Expr::col(Column::BytesToday).add(size))
        .col_expr(
            Column::ReservedBytes,
            Expr::col(Column::ReservedBytes).add(size),
        )
        .filter(Column::Owner.eq(owner))
        .filter(Column::Scope.eq(scope.name.as_str()))
        .filter(Column::Day.eq(day_of(now)));
    if let Some(max) = limits.daily_uploads {
        update = update.filter(
            Expr::col(Column::UploadsToday)
                .add(uploads)
                .lte(as_i64(max)),
        );
    }
    if let Some(max) = limits.daily_bytes {
        update = update.filter(Expr::col(Column::BytesToday).add(size).lte(as_i64(max)));
    }
    if let Some(max) = limits.stored_bytes {
        let held = Expr::col(Column::StoredBytes)
            .add(Expr::col(Column::ReservedBytes))
            .add(size);
        update = update.filter(held.lte(as_i64(max)));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Names the limit a refused reservation would have broken.
async fn exceeded<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    scope: &Scope,
    now: chrono::DateTime<chrono::Utc>,
    wanted: Reservation,
) -> CoreResult<CoreError> {
    let size = as_i64(wanted.bytes);
    let row = Entity::find_by_id((owner.to_owned(), scope.name.clone()))
        .one(db)
        .await?
        .ok_or_else(|| CoreError::Internal("quota row vanished".into()))?;
    let to_next_day = super::seconds_to_next_day(now);
    let used = |n: i64| u64::try_from(n).unwrap_or(0);
    let limits = scope.limits;
    let breach = [
        (
            "daily_uploads",
            limits.daily_uploads,
            used(row.uploads_today),
            row.uploads_today + as_i64(wanted.uploads),
            Some(to_next_day),
        ),
        (
            "daily_bytes",
            limits.daily_bytes,
            used(row.bytes_today),
            row.bytes_today + size,
            Some(to_next_day),
        ),
        (
            "stored_bytes",
            limits.stored_bytes,
            used(row.stored_bytes + row.reserved_bytes),
            row.stored_bytes + row.reserved_bytes + size,
            None,
        ),
    ]
    .into_iter()
    .find(|(_, max, _, wanted, _)| max.is_some_and(|m| *wanted > as_i64(m)));
    let (limit, max, usage, _, retry_after) = breach.unwrap_or((
        "daily_uploads",
        limits.daily_uploads,
        used(row.uploads_today),
        0,
        Some(to_next_day),
    ));
    Ok(CoreError::QuotaExceeded {
        limit,
        scope: scope.name.clone(),
        usage,
        value: max.unwrap_or(0),
        retry_after,
    })
}

/// Deletes the counter rows of scopes `limited` does not name: they have no limit any more,
/// stop counting (creates skip them), and must not be trusted if a limit comes back.
/// Run at start and before each reconcile; a process whose configuration still limits
/// such a scope seeds its row again from the tables. Returns how many rows went.
pub async fn forget_unlimited<C: ConnectionTrait>(db: &C, limited: &[String]) -> CoreResult<u64> {
    let mut delete = Entity::delete_many();
    if !limited.is_empty() {
        delete = delete.filter(Column::Scope.is_not_in(limited.iter().cloned()));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// Every counter row of `owner`, in scope order.
pub async fn usage<C: ConnectionTrait>(db: &C, owner: &str) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::Owner.eq(owner))
        .order_by_asc(Column::Scope)
        .all(db)
        .await?)
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
