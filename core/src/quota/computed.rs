//! Usage computed from the sessions table: what every counter of a scope should be.
//! `GET /v1/quota` answers with it for scopes without a limit (they keep no counter row),
//! reconcile compares counter rows with it, and the first reservation in a limited scope
//! seeds its row with it.
//!
//! Invariant: one definition of usage for all three, so a row seeded, a row repaired and
//! an answer computed on read agree. Reserved bytes are the sizes of live (`pending`,
//! `verifying`) sessions plus every session's `held_bytes`; stored bytes the sizes of
//! `uploaded` and `committed` ones; the day's counters the sessions created that UTC day
//! that did not end without a file. Indexes: `upload_sessions_owner_state_idx` and
//! `upload_sessions_owner_held_idx` (migration `m20261203_000101`), and
//! `upload_sessions_owner_created_idx` for the day.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, CaseStatement, Expr, ExprTrait, Func, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use sluice_domain::UploadState;
use sluice_entity::upload_session::{self, Column as S};

use super::{TOTAL, day_of};
use crate::error::CoreResult;

/// What the tables say one scope's counters are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub uploads_today: i64,
    pub bytes_today: i64,
    pub reserved_bytes: i64,
    pub stored_bytes: i64,
}

const LIVE: [UploadState; 2] = [UploadState::Pending, UploadState::Verifying];
/// Verification settled their bytes as stored (a `scanning` session's too, while the
/// scanner reads them).
const STORED: [UploadState; 3] = [
    UploadState::Scanning,
    UploadState::Uploaded,
    UploadState::Committed,
];
/// Ended without a file: they give the day's count back.
const ENDED: [UploadState; 3] = [
    UploadState::Rejected,
    UploadState::Aborted,
    UploadState::Expired,
];

/// Sessions created on the UTC day of `now` that still count against it.
fn counted_today(now: DateTime<Utc>) -> SimpleExpr {
    let start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    let end = start + chrono::Duration::days(1);
    S::CreatedAt
        .gte(start)
        .and(S::CreatedAt.lt(end))
        .and(S::State.is_not_in(ENDED.map(|s| s.as_str())))
}

fn in_states<const N: usize>(states: [UploadState; N]) -> SimpleExpr {
    S::State.is_in(states.map(|s| s.as_str()))
}

/// Every scope's counters of `owner` (its profiles and the total `*`); a scope with no
/// session is absent (all zero). Four grouped reads over the owner's sessions.
pub async fn by_scope<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    now: DateTime<Utc>,
) -> CoreResult<BTreeMap<String, Counters>> {
    let today = sums(db, owner, S::Size, counted_today(now)).await?;
    let reserved = sums(db, owner, S::Size, in_states(LIVE)).await?;
    let stored = sums(db, owner, S::Size, in_states(STORED)).await?;
    // Bytes that may still land under an ended (or sealed) session's upload key.
    let held = sums(db, owner, S::HeldBytes, S::HeldBytes.ne(0)).await?;
    let mut out: BTreeMap<String, Counters> = BTreeMap::new();
    let mut add = |profile: &str, f: &dyn Fn(&mut Counters)| {
        for scope in [profile, TOTAL] {
            f(out.entry(scope.to_owned()).or_default());
        }
    };
    for (profile, count, bytes) in today {
        add(&profile, &|c| {
            c.uploads_today += count;
            c.bytes_today += bytes;
        });
    }
    for (profile, _, bytes) in reserved.into_iter().chain(held) {
        add(&profile, &|c| c.reserved_bytes += bytes);
    }
    for (profile, _, bytes) in stored {
        add(&profile, &|c| c.stored_bytes += bytes);
    }
    Ok(out)
}

/// (profile, count, sum of `column`) of the owner's sessions matching `condition`.
async fn sums<C: ConnectionTrait>(
    db: &C,
    owner: &str,
    column: S,
    condition: SimpleExpr,
) -> CoreResult<Vec<(String, i64, i64)>> {
    let rows: Vec<(String, i64, Option<i64>)> = upload_session::Entity::find()
        .select_only()
        .column(S::Profile)
        .expr(Func::count(Expr::col(S::Id)))
        // PostgreSQL sums a bigint into a numeric: cast it back.
        .expr(Func::sum(Expr::col(column)).cast_as(Alias::new("BIGINT")))
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

/// One row of (owner, scope, day, uploads_today, bytes_today, reserved_bytes,
/// stored_bytes) holding the scope's counters as the tables say at `now`: what a counter
/// row starts from when a limit needs it. A single aggregate over the owner's sessions
/// (of the profile, for a profile scope), always one row.
pub fn seed(owner: &str, scope: &str, now: DateTime<Utc>) -> SelectStatement {
    let total = |expr: SimpleExpr| -> SimpleExpr {
        let sum: SimpleExpr = Func::sum(expr).cast_as(Alias::new("BIGINT"));
        let zero: SimpleExpr = Expr::val(0i64);
        Func::coalesce([sum, zero]).into()
    };
    let when = |condition: SimpleExpr, value: SimpleExpr| -> SimpleExpr {
        CaseStatement::new()
            .case(condition, value)
            .finally(Expr::val(0i64))
            .into()
    };
    let mut select = Query::select();
    select
        .expr(Expr::val(owner))
        .expr(Expr::val(scope))
        .expr(Expr::val(day_of(now)))
        .expr(total(when(counted_today(now), Expr::val(1i64))))
        .expr(total(when(counted_today(now), Expr::col(S::Size))))
        .expr(total(when(in_states(LIVE), Expr::col(S::Size))).add(total(Expr::col(S::HeldBytes))))
        .expr(total(when(in_states(STORED), Expr::col(S::Size))))
        .from(upload_session::Entity)
        .and_where(S::Owner.eq(owner));
    if scope != TOTAL {
        select.and_where(S::Profile.eq(scope));
    }
    select.to_owned()
}
