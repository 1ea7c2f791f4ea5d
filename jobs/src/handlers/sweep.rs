//! The periodic sweep (apalis-cron, every `queue.sweep_interval`): the backstop that expires
//! sessions whose `ExpireSession` job was lost or has not run.
//!
//! Cron ticks are not persisted and every worker process fires them; that is safe because
//! each expiry is a compare-and-set transition. Within one process a tick that arrives
//! while the previous sweep still runs is skipped instead of piling up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use sluice_core::Core;
use sluice_core::sweep::expire_overdue;

/// Set while a sweep runs in this process.
#[derive(Clone, Debug, Default)]
pub struct SweepGate(Arc<AtomicBool>);

impl SweepGate {
    /// Claims the gate, or `None` if a sweep holds it.
    fn enter(&self) -> Option<Running<'_>> {
        (!self.0.swap(true, Ordering::AcqRel)).then_some(Running(self))
    }
}

/// Opens the gate when dropped, so a sweep cut short (shutdown, worker restart) cannot
/// block every later one.
struct Running<'a>(&'a SweepGate);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.0.store(false, Ordering::Release);
    }
}

#[tracing::instrument(skip_all, fields(tick = tick.get_timestamp()))]
pub async fn sweep(tick: Tick, core: Data<Core>, gate: Data<SweepGate>) -> Result<(), BoxDynError> {
    let Some(_running) = gate.enter() else {
        tracing::debug!("previous sweep still running; tick skipped");
        return Ok(());
    };
    let outcome = expire_overdue(&core).await;
    match outcome {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "sweep expired overdue sessions"),
        // The next tick is the retry; a cron job has nothing to re-deliver.
        Err(error) => tracing::warn!(code = error.code(), error = %error, "sweep failed"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_admits_one_sweep_at_a_time_and_reopens() {
        let gate = SweepGate::default();
        let first = gate.enter();
        assert!(first.is_some());
        assert!(gate.enter().is_none());
        drop(first);
        assert!(gate.enter().is_some());
    }
}
