//! Quota: per-owner limits on uploads and bytes per UTC day and on bytes stored, per
//! profile and for the owner's total across profiles (scope `*`).
//!
//! Counter rows (`quota_usage`) exist only where a limit needs them: the total `*` when
//! `[quota]` sets a limit, a profile when the profile sets one. Every other scope's usage
//! is computed on read from the sessions table (`computed`), so a create that no limit
//! concerns writes no quota row at all and creates of one owner do not meet on one.
//!
//! Invariants: a reservation in a limited scope happens inside the transaction that
//! writes the session, as one conditional UPDATE whose WHERE holds the limits, so
//! concurrent creates by one owner serialise on the counter row and never overshoot (on
//! SQLite and PostgreSQL alike); a missing row is seeded from the tables in that same
//! transaction, so a limit added later starts from the true usage;
//! every later change (settle, release) is the `QuotaChange` the state machine's plan
//! gives, applied by the single writer in the transition's transaction, except the
//! release of held bytes, applied by the single writer when it records a key cleaned for
//! good. Limits live in configuration only: lowering one refuses new uploads and never
//! touches existing files.
//!
//! Held bytes: a session that leaves the books (aborted, rejected, expired, deleted) or
//! whose verified bytes were sealed apart keeps its size in `reserved_bytes` while its
//! upload URLs can still write its key, and until that key is cleaned for good
//! (`upload_sessions.held_bytes`): whatever can still land counts against the owner.

pub mod changes;
pub mod computed;
pub mod reconcile;
pub(crate) mod repo;

pub use repo::Reservation;
pub mod service;

use chrono::{DateTime, Datelike, Utc};

use crate::config::{ProfileSettings, QuotaSettings};

pub use sluice_domain::state::QuotaChange;

/// The scope of an owner's total across profiles.
pub const TOTAL: &str = "*";

/// The limits of one scope; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub daily_uploads: Option<u64>,
    pub daily_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
}

impl Limits {
    /// No limit at all: the scope keeps no counter row.
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }

    pub fn of_profile(p: &ProfileSettings) -> Self {
        Self {
            daily_uploads: p.daily_uploads,
            daily_bytes: p.daily_bytes.map(|b| b.bytes()),
            stored_bytes: p.stored_bytes.map(|b| b.bytes()),
        }
    }

    pub fn of_total(q: &QuotaSettings) -> Self {
        Self {
            daily_uploads: q.daily_uploads,
            daily_bytes: q.daily_bytes.map(|b| b.bytes()),
            stored_bytes: q.stored_bytes.map(|b| b.bytes()),
        }
    }
}

/// A scope and its limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub limits: Limits,
}

/// The two scopes an upload in `profile` counts against, in lock order (by name: `*`
/// sorts before every profile name). Every writer takes the rows in this order, so
/// concurrent writers of one owner never deadlock.
pub fn scopes(profile: &str, settings: &ProfileSettings, total: &QuotaSettings) -> [Scope; 2] {
    [
        Scope {
            name: TOTAL.to_owned(),
            limits: Limits::of_total(total),
        },
        Scope {
            name: profile.to_owned(),
            limits: Limits::of_profile(settings),
        },
    ]
}

/// Drops the counter rows of scopes `settings` does not limit (`repo::forget_unlimited`):
/// at start and before each reconcile. Returns how many rows went.
pub async fn forget_unlimited<C: sea_orm::ConnectionTrait>(
    db: &C,
    settings: &crate::config::Settings,
) -> crate::error::CoreResult<u64> {
    repo::forget_unlimited(db, &limited_scopes(settings)).await
}

/// The scopes some limit of `settings` needs a counter row for: `*` when `[quota]` sets
/// one, and every profile that sets one.
pub fn limited_scopes(settings: &crate::config::Settings) -> Vec<String> {
    let total = (!Limits::of_total(&settings.quota).is_unlimited()).then(|| TOTAL.to_owned());
    total
        .into_iter()
        .chain(
            settings
                .profiles
                .iter()
                .filter(|(_, p)| !Limits::of_profile(p).is_unlimited())
                .map(|(name, _)| name.clone()),
        )
        .collect()
}

/// The scope names of an upload in `profile`, in lock order (see `scopes`).
pub fn scope_names(profile: &str) -> [&str; 2] {
    [TOTAL, profile]
}

/// The quota day of an instant: days since the common era, UTC.
pub fn day_of(at: DateTime<Utc>) -> i32 {
    at.date_naive().num_days_from_ce()
}

/// Seconds from `now` to the next UTC midnight, when daily counters start afresh.
pub fn seconds_to_next_day(now: DateTime<Utc>) -> u64 {
    let tomorrow = now
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    tomorrow.map_or(86_400, |t| {
        u64::try_from((t - now).num_seconds().max(1)).unwrap_or(1)
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn days_change_at_utc_midnight() {
        let late = Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 59, 59)
            .single()
            .expect("t");
        let early = Utc
            .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
            .single()
            .expect("t");
        assert_eq!(day_of(early), day_of(late) + 1);
        assert_eq!(seconds_to_next_day(late), 1);
        assert_eq!(seconds_to_next_day(early), 86_400);
    }
}
