//! The in-process store: the TAT of every bucket in one mutex-protected map, on a
//! monotonic clock. Used when no Redis is configured (embedded mode: one process).
//!
//! Why not `governor`: a keyed governor limiter holds one quota, and Sluice needs one per
//! (route class, dimension, profile), charged together or not at all, with the exact
//! arithmetic the Redis script runs (`gcra.rs`), so both legs behave alike and one set of
//! unit tests covers both. The map is small work: one lock, two lookups per request.
//!
//! Invariants: a bucket whose TAT is at or before now is idle and equals no bucket, so
//! idle buckets are swept whenever the map has doubled since the last sweep (amortised
//! O(1)); the map never holds more than `CAPACITY` buckets: when every one is active, a
//! new subject passes uncounted (reported as `Full`, which the caller fails open on).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::gcra::{Decision, Gcra, decide};

/// Buckets at most (one entry is a key of ~100 bytes and a number).
const CAPACITY: usize = 200_000;
/// No sweep below this size.
const MIN_SWEEP: usize = 1_024;

#[derive(Debug)]
pub struct MemoryStore {
    epoch: Instant,
    inner: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    tats: HashMap<String, u64>,
    sweep_at: usize,
}

/// The map is full of active buckets.
#[derive(Debug)]
pub struct Full;

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            inner: Mutex::new(Buckets {
                tats: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
        }
    }
}

impl MemoryStore {
    /// Microseconds since the store was made.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Decides a request against `buckets` (key and limit) and charges it if it passes.
    pub fn check(&self, buckets: &[(String, Gcra)]) -> Result<Decision, Full> {
        let now = self.now();
        self.check_at(now, buckets)
    }

    fn check_at(&self, now: u64, buckets: &[(String, Gcra)]) -> Result<Decision, Full> {
        // A poisoned lock only means another request panicked mid-update of plain numbers.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let stored: Vec<(Gcra, Option<u64>)> = buckets
            .iter()
            .map(|(key, g)| (*g, inner.tats.get(key).copied()))
            .collect();
        let decision = decide(now, &stored);
        if let Decision::Allow(tats) = &decision {
            let new_keys = stored.iter().filter(|(_, t)| t.is_none()).count();
            if inner.tats.len() + new_keys > inner.sweep_at {
                inner.tats.retain(|_, tat| *tat > now);
                inner.sweep_at = (inner.tats.len() * 2).clamp(MIN_SWEEP, CAPACITY);
            }
            if inner.tats.len() + new_keys > CAPACITY {
                return Err(Full);
            }
            for ((key, _), tat) in buckets.iter().zip(tats) {
                inner.tats.insert(key.clone(), *tat);
            }
        }
        Ok(decision)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|i| i.tats.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn two_per_second() -> Gcra {
        Gcra {
            interval: S / 2,
            tolerance: S / 2,
        }
    }

    #[test]
    fn buckets_are_kept_apart_and_charged_together() {
        let store = MemoryStore::default();
        let g = two_per_second();
        let a = [("owner:a".to_owned(), g), ("ip:1".to_owned(), g)];
        let b = [("owner:b".to_owned(), g), ("ip:1".to_owned(), g)];
        let now = 10 * S;
        assert!(matches!(store.check_at(now, &a), Ok(Decision::Allow(_))));
        assert!(matches!(store.check_at(now, &b), Ok(Decision::Allow(_))));
        // The shared IP bucket is spent; neither owner bucket is charged by the refusal.
        assert!(matches!(
            store.check_at(now, &a),
            Ok(Decision::Refuse { bucket: 1, .. })
        ));
        let c = [("owner:a".to_owned(), g)];
        assert!(matches!(store.check_at(now, &c), Ok(Decision::Allow(_))));
        assert!(matches!(
            store.check_at(now, &c),
            Ok(Decision::Refuse { bucket: 0, .. })
        ));
    }

    #[test]
    fn idle_buckets_are_swept() {
        let store = MemoryStore::default();
        let g = two_per_second();
        for i in 0..MIN_SWEEP {
            let key = [(format!("k{i}"), g)];
            assert!(store.check_at(S, &key).is_ok());
        }
        assert_eq!(store.len(), MIN_SWEEP);
        // A second later every bucket is idle: the next new key sweeps them.
        let key = [("fresh".to_owned(), g)];
        assert!(store.check_at(3 * S, &key).is_ok());
        assert_eq!(store.len(), 1);
    }
}
