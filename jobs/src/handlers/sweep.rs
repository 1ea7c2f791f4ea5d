//! The periodic sweep (apalis-cron, every `queue.sweep_interval`): the backstop for every
//! kind of job (see `sluice_core::sweep`).
//!
//! Every worker process fires the cron ticks, so a sweep first takes the database lease
//! `sweep`: one process sweeps at a time across replicas. Within one process a tick that
//! arrives while the previous sweep still runs is skipped instead of piling up. A pass
//! also runs as soon as the workers start (`at_start`), and a backlog of overdue sessions
//! bigger than one step's budget is expired on without waiting for the next tick, the
//! lease renewed between steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use apalis::prelude::{BoxDynError, Data};
use apalis_cron::Tick;
use sluice_core::{Core, admin, audit, lease, quota, retention, sweep};

/// Set while a sweep runs in this process; also remembers what was last reported.
/// The fourth flag is set while a retention pass runs (apart from the sweep).
#[derive(Clone, Debug, Default)]
pub struct SweepGate(
    Arc<AtomicBool>,
    Arc<AtomicU64>,
    Arc<AtomicBool>,
    Arc<AtomicBool>,
);

impl SweepGate {
    /// Claims the gate, or `None` if a sweep holds it.
    fn enter(&self) -> Option<Running<'_>> {
        (!self.0.swap(true, Ordering::AcqRel)).then_some(Running(self))
    }

    /// True the first time only: the store cannot list multipart uploads.
    fn first_unlisted(&self) -> bool {
        !self.2.swap(true, Ordering::AcqRel)
    }

    /// Whether the count of unreadable job rows changed since the last report.
    fn undecodable_changed(&self, count: u64) -> bool {
        self.1.swap(count, Ordering::AcqRel) != count
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

/// This process's name as a lease holder.
#[derive(Clone, Debug)]
pub struct Instance(pub String);

#[tracing::instrument(skip_all, fields(tick = tick.get_timestamp()))]
pub async fn sweep(
    tick: Tick,
    core: Data<Core>,
    gate: Data<SweepGate>,
    instance: Data<Instance>,
) -> Result<(), BoxDynError> {
    pass(&core, &gate, &instance).await;
    Ok(())
}

/// The sweep a process runs as soon as its workers start, before the first tick: after
/// an outage the backlog of overdue sessions is expired from the moment Sluice is back,
/// not from the next tick of the wall clock (up to `sweep_interval` later). The
/// turn-paced tasks wait for the ticks.
pub async fn at_start(core: Core, gate: SweepGate, instance: Instance) {
    let Some(_running) = gate.enter() else {
        return;
    };
    sweep_under_lease(&core, &gate, &instance).await;
}

/// A tick: one sweep under the `sweep` lease, then the turn-paced tasks (reconcile,
/// statistics, audit shipping, retention).
async fn pass(core: &Core, gate: &SweepGate, instance: &Instance) {
    let Some(_running) = gate.enter() else {
        tracing::debug!("previous sweep still running; tick skipped");
        return;
    };
    sweep_under_lease(core, gate, instance).await;
    reconcile_quota_when_due(core, &instance.0).await;
    refresh_stats_when_due(core, &instance.0).await;
    ship_audit(core, &instance.0).await;
    prune_when_due(core, gate, &instance.0);
}

/// `sweep::run` under the `sweep` lease (given back after), and what it found reported.
async fn sweep_under_lease(core: &Core, gate: &SweepGate, instance: &Instance) {
    // Held for two periods at most: a holder that dies frees it soon enough.
    let ttl = core.settings.queue.sweep_interval.get() * 2;
    match lease::acquire(&core.db, sweep::LEASE, &instance.0, core.now(), ttl).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("another process is sweeping");
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "sweep lease unavailable");
            return;
        }
    }
    match sweep::run(core).await {
        Ok(report) => {
            if report.expiry_unfinished {
                expire_backlog(core, &instance.0, ttl).await;
            }
            let aborted = report.strangers_aborted.unwrap_or(0);
            let redriven = report.cleanups_redriven
                + report.verifications_redriven
                + report.scans_redriven
                + report.deliveries_redriven;
            if report.expired + redriven + aborted > 0 {
                tracing::info!(?report, "sweep");
            }
            if report.strangers_aborted.is_none() && gate.first_unlisted() {
                tracing::info!(
                    "the store cannot list multipart uploads (501); stale ones are only aborted through their sessions"
                );
            }
            if gate.undecodable_changed(report.undecodable_jobs) && report.undecodable_jobs > 0 {
                tracing::warn!(
                    rows = report.undecodable_jobs,
                    "job rows wait for a version that can read them"
                );
            }
        }
        // The next tick is the retry; a cron job has nothing to re-deliver.
        Err(error) => tracing::warn!(code = %error.code(), error = %error, "sweep failed"),
    }
    if let Err(error) = lease::release(&core.db, sweep::LEASE, &instance.0).await {
        tracing::debug!(%error, "sweep lease not released; it runs out by itself");
    }
}

/// A backlog bigger than one step's time budget: renews the lease and expires on, step
/// after step, until nothing overdue is left (or the lease went to another process,
/// which then goes on). No tick is waited for in between.
async fn expire_backlog(core: &Core, instance: &str, ttl: std::time::Duration) {
    loop {
        match lease::acquire(&core.db, sweep::LEASE, instance, core.now(), ttl).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
        match sweep::expire_overdue(core).await {
            Ok(step) => {
                tracing::info!(expired = step.expired, "sweep: backlog of overdue sessions");
                if !step.unfinished {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(code = %error.code(), %error, "sweep failed");
                return;
            }
        }
    }
}

/// Starts a retention pass once per `retention.interval` across every process, as a
/// task of its own: a long pass (a backlog of months) must not hold back the sweeps.
fn prune_when_due(core: &Core, gate: &SweepGate, instance: &str) {
    if gate.3.swap(true, Ordering::AcqRel) {
        return;
    }
    let (core, flag, instance) = (core.clone(), gate.3.clone(), instance.to_owned());
    tokio::spawn(async move {
        // Lowered however the task ends (a panic included), so later turns still run.
        let _reset = Reset(flag);
        match retention::prune_turn(&core, &instance).await {
            // `prune` logs what it removed.
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(code = %error.code(), %error, "retention pass failed; the next turn retries")
            }
        }
    });
}

/// Lowers its flag when dropped.
struct Reset(Arc<AtomicBool>);

impl Drop for Reset {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Ships the audit stream to its sinks, one process at a time.
async fn ship_audit(core: &Core, instance: &str) {
    if core.settings.audit.file.is_none() && core.settings.audit.http_url.is_none() {
        return;
    }
    if let Err(error) = audit::sink::ship_turn(core, instance).await {
        tracing::warn!(%error, "audit shipping failed; the next turn retries");
    }
}

/// Recomputes the quota counters once per `quota.reconcile_interval` across every
/// process: the first sweep that takes the turn does it.
async fn reconcile_quota_when_due(core: &Core, instance: &str) {
    let period = core.settings.quota.reconcile_interval.get();
    match lease::take_turn(&core.db, RECONCILE_LEASE, instance, core.now(), period).await {
        Ok(true) => match reconcile_quota(core).await {
            Ok(repairs) if repairs.is_empty() => {
                tracing::debug!("quota counters agree with the tables")
            }
            Ok(repairs) => {
                core.metrics.quota_repairs.inc_by(repairs.len() as u64);
                tracing::info!(repaired = repairs.len(), "quota counters repaired");
            }
            Err(error) => {
                tracing::warn!(%error, "quota reconciliation failed; the next turn retries")
            }
        },
        Ok(false) => {}
        Err(error) => tracing::debug!(%error, "quota reconciliation lease unavailable"),
    }
}

/// Drops counter rows no configured limit needs, then repairs the others.
async fn reconcile_quota(
    core: &Core,
) -> sluice_core::error::CoreResult<Vec<quota::reconcile::Repair>> {
    let forgotten = quota::forget_unlimited(&core.db, &core.settings).await?;
    if forgotten > 0 {
        tracing::info!(
            forgotten,
            "quota counters of scopes without a limit dropped"
        );
    }
    quota::reconcile::reconcile_all(&core.db, core.now()).await
}

/// Recomputes the admin statistics rollup once per `admin.stats_interval`.
async fn refresh_stats_when_due(core: &Core, instance: &str) {
    let period = core.settings.admin.stats_interval.get();
    match lease::take_turn(&core.db, STATS_LEASE, instance, core.now(), period).await {
        Ok(true) => {
            if let Err(error) = admin::stats::refresh(core).await {
                tracing::warn!(%error, "statistics rollup failed; the next turn retries");
            }
        }
        Ok(false) => {}
        Err(error) => tracing::debug!(%error, "statistics lease unavailable"),
    }
}

/// The lease whose turns pace the statistics rollup.
const STATS_LEASE: &str = "stats_rollup";

/// The lease whose turns pace quota reconciliation.
const RECONCILE_LEASE: &str = quota::reconcile::LEASE;

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
