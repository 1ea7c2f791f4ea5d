//! The sweep's cron schedule, derived from `queue.sweep_interval`.
//!
//! Cron can only express periods that divide the next larger unit evenly (`*/45` in the
//! seconds field fires at :00 and :45, i.e. 45 s then 15 s apart). So the interval is
//! rounded *down* to the nearest period that divides its unit: seconds dividing a minute,
//! minutes dividing an hour, hours dividing a day, or once a day. Rounding down means the
//! backstop never runs less often than configured. Sub-second parts are dropped and the
//! shortest period is one second. Ticks are aligned to the wall clock (UTC).

use std::str::FromStr;
use std::time::Duration;

/// A cron schedule and the period it actually fires at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Every {
    /// Six fields, seconds first, as the `cron` crate reads them.
    pub expression: String,
    pub period: Duration,
}

impl Every {
    /// The schedule firing every `interval`, rounded down as the module explains.
    pub(crate) fn interval(interval: Duration) -> Every {
        let secs = interval.as_secs().max(1);
        let (expression, period) = if secs < 60 {
            let n = largest_divisor_at_most(60, secs);
            (format!("*/{n} * * * * *"), n)
        } else if secs < 3_600 {
            let n = largest_divisor_at_most(60, secs / 60);
            (format!("0 */{n} * * * *"), n * 60)
        } else if secs < 86_400 {
            let n = largest_divisor_at_most(24, secs / 3_600);
            (format!("0 0 */{n} * * *"), n * 3_600)
        } else {
            ("0 0 0 * * *".to_owned(), 86_400)
        };
        Every {
            expression,
            period: Duration::from_secs(period),
        }
    }

    /// The parsed schedule for `apalis_cron::CronScheduler`.
    pub(crate) fn schedule(&self) -> Result<cron::Schedule, String> {
        cron::Schedule::from_str(&self.expression)
            .map_err(|e| format!("cron `{}`: {e}", self.expression))
    }
}

/// The largest divisor of `whole` that is at most `limit` (at least 1).
fn largest_divisor_at_most(whole: u64, limit: u64) -> u64 {
    (1..=limit.clamp(1, whole))
        .rev()
        .find(|d| whole.is_multiple_of(*d))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(secs: u64) -> (String, u64) {
        let e = Every::interval(Duration::from_secs(secs));
        (e.expression, e.period.as_secs())
    }

    #[test]
    fn seconds_that_divide_a_minute_are_kept() {
        assert_eq!(every(30), ("*/30 * * * * *".into(), 30));
        assert_eq!(every(1), ("*/1 * * * * *".into(), 1));
        assert_eq!(every(15), ("*/15 * * * * *".into(), 15));
    }

    #[test]
    fn other_periods_round_down_to_an_even_one() {
        assert_eq!(every(45), ("*/30 * * * * *".into(), 30));
        assert_eq!(every(7), ("*/6 * * * * *".into(), 6));
        assert_eq!(every(59), ("*/30 * * * * *".into(), 30));
        assert_eq!(every(90), ("0 */1 * * * *".into(), 60));
        assert_eq!(every(7 * 60), ("0 */6 * * * *".into(), 360));
        assert_eq!(every(5 * 3_600), ("0 0 */4 * * *".into(), 4 * 3_600));
        assert_eq!(every(3 * 86_400), ("0 0 0 * * *".into(), 86_400));
    }

    #[test]
    fn zero_and_sub_second_intervals_mean_every_second() {
        assert_eq!(every(0).1, 1);
        assert_eq!(
            Every::interval(Duration::from_millis(1_500)).period,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn every_expression_parses_and_never_exceeds_the_interval() {
        for secs in [
            0, 1, 2, 7, 29, 30, 45, 60, 61, 119, 600, 3_599, 3_600, 7_200, 50_000, 86_400,
            1_000_000,
        ] {
            let every = Every::interval(Duration::from_secs(secs));
            let schedule = every.schedule().expect("valid cron");
            assert!(every.period.as_secs() <= secs.max(1), "{secs}");
            let ticks: Vec<_> = schedule.upcoming(chrono::Utc).take(3).collect();
            assert_eq!(
                (ticks[2] - ticks[1]).num_seconds() as u64,
                every.period.as_secs(),
                "{secs}"
            );
        }
    }
}
