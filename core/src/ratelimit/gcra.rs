//! The generic cell rate algorithm, as pure arithmetic on microseconds. A bucket is one
//! number, its theoretical arrival time (TAT): when the next request would be due if
//! requests came exactly at the sustained rate. A request at `now` passes when
//! `now >= TAT - tolerance`, and then moves the TAT one emission interval on.
//!
//! Invariants: the in-process store runs this function and the Redis script mirrors it
//! line for line (`redis.rs`); a request is charged to every bucket it passes or to none;
//! a TAT at or before `now` is the same as no TAT, so such buckets may be forgotten.

use crate::config::Limit;

/// One limit: the emission interval `T` (µs between requests at the sustained rate) and
/// the tolerance `τ = T · (burst − 1)` (how far ahead of the rate a client may run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gcra {
    pub interval: u64,
    pub tolerance: u64,
}

impl Gcra {
    pub fn of(limit: &Limit) -> Gcra {
        let count = u128::from(limit.rate.count.max(1));
        let interval = u64::try_from(limit.rate.per.as_micros() / count)
            .unwrap_or(u64::MAX)
            .max(1);
        let tolerance = interval.saturating_mul(limit.burst().max(1) - 1);
        Gcra {
            interval,
            tolerance,
        }
    }
}

/// What one request gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Passed: the new TAT of each bucket, in order.
    Allow(Vec<u64>),
    /// Refused by `bucket` (the one that waits longest), which passes again in `wait` µs.
    Refuse { bucket: usize, wait: u64 },
}

/// Decides a request at `now` against every bucket (its limit and stored TAT).
pub fn decide(now: u64, buckets: &[(Gcra, Option<u64>)]) -> Decision {
    let mut tats = Vec::with_capacity(buckets.len());
    let mut refused: Option<(usize, u64)> = None;
    for (i, (limit, stored)) in buckets.iter().enumerate() {
        let tat = stored.unwrap_or(now).max(now);
        let allow_at = tat.saturating_sub(limit.tolerance);
        if now < allow_at {
            let wait = allow_at - now;
            if refused.is_none_or(|(_, longest)| wait > longest) {
                refused = Some((i, wait));
            }
        }
        tats.push(tat.saturating_add(limit.interval));
    }
    match refused {
        Some((bucket, wait)) => Decision::Refuse { bucket, wait },
        None => Decision::Allow(tats),
    }
}

/// Whole seconds a client is told to wait (`Retry-After`): rounded up, at least 1.
pub fn retry_after_secs(wait_us: u64) -> u64 {
    wait_us.div_ceil(1_000_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn limit(rate: &str, burst: Option<u64>) -> Gcra {
        Gcra::of(&Limit {
            rate: rate.parse().expect("rate"),
            burst,
        })
    }

    /// Runs requests at the given times against one bucket; returns which passed.
    fn run(g: Gcra, times: &[u64]) -> Vec<bool> {
        let mut tat = None;
        times
            .iter()
            .map(|&now| match decide(now, &[(g, tat)]) {
                Decision::Allow(t) => {
                    tat = Some(t[0]);
                    true
                }
                Decision::Refuse { .. } => false,
            })
            .collect()
    }

    #[test]
    fn parameters_follow_rate_and_burst() {
        assert_eq!(
            limit("2/1s", None),
            Gcra {
                interval: S / 2,
                tolerance: S / 2
            }
        );
        assert_eq!(
            limit("60/1m", Some(20)),
            Gcra {
                interval: S,
                tolerance: 19 * S
            }
        );
        assert_eq!(limit("1/1h", Some(1)).tolerance, 0);
        // A rate finer than a microsecond still moves the TAT.
        assert_eq!(limit("1000000/1ms", None).interval, 1);
    }

    #[test]
    fn a_burst_passes_then_the_sustained_rate() {
        let g = limit("2/1s", None);
        let t0 = 1_000 * S;
        assert_eq!(run(g, &[t0, t0, t0]), [true, true, false]);
        // After the burst, one request per half second.
        assert_eq!(
            run(g, &[t0, t0, t0 + S / 2 - 1, t0 + S / 2, t0 + S / 2, t0 + S]),
            [true, true, false, true, false, true]
        );
    }

    #[test]
    fn refusals_say_how_long_to_wait_and_charge_nothing() {
        let g = limit("2/1s", None);
        let now = 5 * S;
        // Two passed at `now`: the TAT is now + 1s, the next passes at now + 0.5s.
        let tat = Some(now + S);
        assert_eq!(
            decide(now, &[(g, tat)]),
            Decision::Refuse {
                bucket: 0,
                wait: S / 2
            }
        );
        assert_eq!(
            decide(now + S / 2, &[(g, tat)]),
            Decision::Allow(vec![now + S + S / 2])
        );
        assert_eq!(retry_after_secs(S / 2), 1);
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(2 * S), 2);
        assert_eq!(retry_after_secs(2 * S + 1), 3);
    }

    #[test]
    fn every_bucket_passes_or_none_is_charged() {
        let loose = limit("100/1s", None);
        let tight = limit("1/1s", Some(1));
        let now = 10 * S;
        let full = Some(now + S);
        match decide(now, &[(loose, None), (tight, full)]) {
            Decision::Refuse { bucket, wait } => {
                assert_eq!(bucket, 1);
                assert_eq!(wait, S);
            }
            other => panic!("{other:?}"),
        }
        // The longest wait names the bucket.
        let a = limit("1/1s", Some(1));
        let b = limit("1/10s", Some(1));
        assert_eq!(
            decide(now, &[(a, Some(now + S)), (b, Some(now + 10 * S))]),
            Decision::Refuse {
                bucket: 1,
                wait: 10 * S
            }
        );
        assert_eq!(
            decide(now, &[(loose, None), (tight, None)]),
            Decision::Allow(vec![now + loose.interval, now + S])
        );
    }

    #[test]
    fn an_old_tat_counts_as_none_and_extremes_do_not_overflow() {
        let g = limit("2/1s", None);
        assert_eq!(
            decide(50 * S, &[(g, Some(S))]),
            decide(50 * S, &[(g, None)])
        );
        let huge = Gcra {
            interval: u64::MAX,
            tolerance: u64::MAX,
        };
        assert!(matches!(
            decide(u64::MAX, &[(huge, Some(u64::MAX))]),
            Decision::Allow(_)
        ));
        assert!(matches!(
            decide(0, &[(g, Some(u64::MAX))]),
            Decision::Refuse { .. }
        ));
    }
}
