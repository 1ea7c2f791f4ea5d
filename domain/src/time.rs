//! Saturating date arithmetic: deadlines computed from configured durations never panic.

use chrono::{DateTime, Utc};

/// The latest instant Sluice ever computes (the last second of year 9999): later than any
/// deadline a bounded setting can produce, and stored alike by PostgreSQL and SQLite.
pub fn max_instant() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at + by` for a signed chrono duration, saturating at [`max_instant`] (and, for a
/// negative one, at the earliest instant chrono holds).
pub fn add_chrono(at: DateTime<Utc>, by: chrono::Duration) -> DateTime<Utc> {
    match at.checked_add_signed(by) {
        Some(sum) if sum <= max_instant() => sum,
        Some(sum) if by < chrono::Duration::zero() => sum,
        None if by < chrono::Duration::zero() => DateTime::<Utc>::MIN_UTC,
        _ => max_instant(),
    }
}
