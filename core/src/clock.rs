//! The clock every use case, job and sweep reads, held by `Core` so tests can pin it and
//! jump past deadlines instead of waiting for them.
//!
//! Invariant: every instant is truncated to microseconds, because PostgreSQL keeps
//! microseconds: a timestamp returned right after a write equals the one read back later.
//! Production runs on `SystemClock`; `ShiftedClock` (test builds only) is real time plus an
//! offset that only grows, so time still flows in tests (ids, ordering) while deadlines can
//! be jumped.

use std::fmt::Debug;
#[cfg(any(test, feature = "test-support"))]
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + Debug {
    /// Now, at the precision every supported database stores.
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// Real time shifted forward by an offset that `advance` grows: the test clock. Compiled
/// only for tests (core's own, and the suites through the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_micros: AtomicI64,
}

#[cfg(any(test, feature = "test-support"))]
impl ShiftedClock {
    /// Moves this clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }

    /// How far ahead of real time this clock runs.
    pub fn offset(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.offset_micros.load(Ordering::SeqCst)).unwrap_or(0))
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::microseconds(self.offset_micros.load(Ordering::SeqCst));
        (Utc::now() + offset).trunc_subsecs(6)
    }
}

pub use sluice_domain::time::{add_chrono, max_instant};

/// `at + by`, saturating at [`max_instant`] instead of panicking: date arithmetic on
/// configured durations must never crash a request or a job (settings are bounded at
/// start, so saturation is only a last line of defence).
pub fn add(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(by).map_or_else(|_| max_instant(), |by| add_chrono(at, by))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates_instead_of_panicking() {
        let now = SystemClock.now();
        assert_eq!(
            add(now, Duration::from_secs(60)),
            now + chrono::Duration::seconds(60)
        );
        assert_eq!(add(now, Duration::MAX), max_instant());
        assert_eq!(
            add(now, Duration::from_secs(400 * 365 * 86_400 * 1_000)),
            max_instant()
        );
        assert_eq!(add_chrono(now, chrono::Duration::MAX), max_instant());
        assert_eq!(
            add_chrono(max_instant(), chrono::Duration::seconds(1)),
            max_instant()
        );
        assert!(add_chrono(now, chrono::Duration::MIN) < now);
    }

    #[test]
    fn shifted_clock_jumps_forward_and_keeps_microseconds() {
        let clock = ShiftedClock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        let after = clock.now();
        assert!(after - before >= chrono::Duration::seconds(3600));
        assert!(after - before < chrono::Duration::seconds(3660));
        assert_eq!(after.timestamp_subsec_nanos() % 1_000, 0);
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
