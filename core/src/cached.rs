//! `Cached<T>`: a value recomputed at most once per period, by the core's clock. For what
//! anyone may call as often as they like (`/readyz`, `/metrics`) but what costs a billed
//! store request or database queries to compute.
//!
//! Invariants: callers that arrive while the value is being computed wait for it instead
//! of computing it again, so N concurrent calls cost one computation; a zero period
//! recomputes on every call; a failed computation is not kept.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

#[derive(Debug, Default)]
pub struct Cached<T> {
    slot: Mutex<Option<(DateTime<Utc>, T)>>,
}

impl<T: Clone> Cached<T> {
    pub fn new() -> Self {
        Self {
            slot: Mutex::new(None),
        }
    }

    /// The value computed less than `period` before `now`, or a fresh one from `compute`.
    pub async fn get<E, F, Fut>(
        &self,
        now: DateTime<Utc>,
        period: Duration,
        compute: F,
    ) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && now >= *at
            && crate::clock::add(*at, period) > now
        {
            return Ok(value.clone());
        }
        let value = compute().await?;
        *slot = Some((now, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[tokio::test]
    async fn a_value_is_computed_once_per_period() {
        let cache = Cached::<u32>::new();
        let t0 = crate::clock::SystemClock.now();
        let period = Duration::from_secs(2);
        let mut runs = 0;
        for offset in [0, 1, 1_999] {
            let at = t0 + chrono::Duration::milliseconds(offset);
            let got: Result<u32, ()> = cache
                .get(at, period, || {
                    runs += 1;
                    async { Ok(7) }
                })
                .await;
            assert_eq!(got, Ok(7));
        }
        assert_eq!(runs, 1);
        let later = t0 + chrono::Duration::seconds(2);
        let _: Result<u32, ()> = cache.get(later, period, || async { Ok(8) }).await;
        let again: Result<u32, ()> = cache.get(later, period, || async { Ok(9) }).await;
        assert_eq!(again, Ok(8));
        let failed: Result<u32, &str> = cache
            .get(later, Duration::ZERO, || async { Err("down") })
            .await;
        assert_eq!(failed, Err("down"));
        let zero: Result<u32, ()> = cache.get(later, Duration::ZERO, || async { Ok(10) }).await;
        assert_eq!(zero, Ok(10));
    }
}
