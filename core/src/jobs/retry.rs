//! Retry schedules: after the n-th failed run a job waits the n-th delay of its kind's
//! list, then runs again. A `forever` kind retries every failure and, past the end of
//! the list, keeps waiting the last (longest) delay: cleanup never gives up. Other kinds
//! retry transient failures only, and give up when the list is used up.
//!
//! A retry is a new due time in the job table, never a sleep inside a worker slot.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::config::Dur;

/// A kind's declared schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub delays: &'static [Duration],
    pub forever: bool,
}

/// A kind's schedule as configured (delays may come from `queue.retry.<kind>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub delays: Vec<Duration>,
    pub forever: bool,
}

impl RetrySchedule {
    /// How long to wait after the `failures`-th failed run (1-based), or `None` to give up.
    /// `transient` says whether the failure may pass by itself.
    pub fn delay_after(&self, failures: u32, transient: bool) -> Option<Duration> {
        if !self.forever && !transient {
            return None;
        }
        let index = usize::try_from(failures.max(1) - 1).unwrap_or(usize::MAX);
        match self.delays.get(index) {
            Some(delay) => Some(*delay),
            None if self.forever => self.delays.last().copied(),
            None => None,
        }
    }
}

/// Every kind's schedule.
#[derive(Clone, Debug, Default)]
pub struct RetryTable {
    schedules: HashMap<&'static str, RetrySchedule>,
}

impl RetryTable {
    /// The declared schedules, with the delays of any kind named in `configured` replaced.
    pub fn new(configured: &BTreeMap<String, Vec<Dur>>) -> Self {
        let schedules = super::Job::KINDS
            .iter()
            .map(|kind| {
                let delays = match configured.get(kind.name) {
                    Some(list) if !list.is_empty() => list.iter().map(|d| d.get()).collect(),
                    _ => kind.retry.delays.to_vec(),
                };
                let schedule = RetrySchedule {
                    delays,
                    forever: kind.retry.forever,
                };
                (kind.name, schedule)
            })
            .collect();
        Self { schedules }
    }

    /// The schedule of `kind`; an unknown kind (a stored row from another version) gets
    /// none, so its rows are parked rather than retried.
    pub fn schedule(&self, kind: &str) -> Option<&RetrySchedule> {
        self.schedules.get(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[test]
    fn forever_schedules_repeat_their_last_delay_and_retry_everything() {
        let schedule = RetrySchedule {
            delays: secs(&[1, 5, 30]),
            forever: true,
        };
        assert_eq!(schedule.delay_after(1, true), Some(Duration::from_secs(1)));
        assert_eq!(
            schedule.delay_after(3, false),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            schedule.delay_after(1_000, true),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn limited_schedules_retry_transient_failures_until_the_list_ends() {
        let schedule = RetrySchedule {
            delays: secs(&[1, 5]),
            forever: false,
        };
        assert_eq!(schedule.delay_after(1, true), Some(Duration::from_secs(1)));
        assert_eq!(schedule.delay_after(2, true), Some(Duration::from_secs(5)));
        assert_eq!(schedule.delay_after(3, true), None);
        assert_eq!(schedule.delay_after(1, false), None);
    }

    #[test]
    fn configured_delays_replace_the_declared_ones() {
        let mut configured = BTreeMap::new();
        configured.insert("cleanup_session".to_owned(), vec![Dur::secs(2)]);
        let table = RetryTable::new(&configured);
        let cleanup = table.schedule("cleanup_session").expect("declared");
        assert_eq!(cleanup.delays, secs(&[2]));
        assert!(cleanup.forever);
        assert!(table.schedule("expire_session").is_some());
        assert!(table.schedule("from_the_future").is_none());
    }
}
