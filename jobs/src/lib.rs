//! `sluice-jobs`: Sluice's background work, a thin adapter between `sluice-core`'s job
//! table and apalis.
//!
//! - [`Queues`]: the transport (embedded SQLite or Redis), one queue per declared kind.
//! - [`start_relay`]: the actor that dispatches due job rows into the queues.
//! - [`start_workers`]: one apalis `Monitor` running a worker per job kind and the
//!   periodic sweep; [`Workers::shutdown`] stops it gracefully.
//!
//! Invariants: workers are built from `Job::KINDS`, so a new kind needs no change here;
//! worker names are unique per process and restart (apalis refuses a name still
//! registered); every worker polls at `queue.poll_interval`, because the backends
//! otherwise only look for messages on their heartbeat.

pub mod handlers;
mod queues;
mod relay;
mod schedule;

use std::time::Duration;

use apalis::prelude::*;
use apalis_cron::CronScheduler;
use sluice_core::Core;
use sluice_core::jobs::Job;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use queues::{QueueError, Queues};
pub use relay::{Drain, Relay, Wake, start_relay};

use handlers::dispatch::run_dispatch;
use handlers::sweep::{self, Instance, SweepGate};
use queues::Backend;
use schedule::Every;

/// The running workers. Dropping it leaves them running until the runtime ends; call
/// [`Workers::shutdown`] to let in-flight jobs finish.
pub struct Workers {
    stop: oneshot::Sender<()>,
    monitor: JoinHandle<Result<(), MonitorError>>,
    grace: Duration,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// What every job worker shares.
#[derive(Clone)]
struct Setup {
    core: Core,
    instance: String,
    poll: Duration,
    concurrency: usize,
}

/// Registers the worker of every kind on one backend's storages. A macro, because the
/// storage type differs per backend and the worker's type spells out its backend.
macro_rules! kind_workers {
    ($monitor:expr, $setup:expr, $storages:expr) => {{
        let mut monitor = $monitor;
        for kind in Job::KINDS {
            let storage = $storages
                .get(kind.name)
                .cloned()
                .ok_or_else(|| queues::unknown_kind(kind.name))?;
            let setup = $setup.clone();
            monitor = monitor.register(move |restarts| {
                let pause = restart_pause(restarts);
                let backend = storage
                    .clone()
                    .poll_with_interval(setup.poll)
                    .before_start(move |_| pause_for(pause));
                WorkerBuilder::new(worker_name(kind.name, &setup.instance, restarts))
                    .backend(backend)
                    .concurrency(setup.concurrency)
                    .data(setup.core.clone())
                    .build(run_dispatch)
            });
        }
        monitor
    }};
}

/// Starts every worker (one per job type, plus the sweep) in one apalis `Monitor` on the
/// tokio runtime.
pub async fn start_workers(core: Core, queues: Queues) -> Result<Workers, QueueError> {
    let settings = core.settings.clone();
    let every = Every::interval(settings.queue.sweep_interval.get());
    let schedule = every.schedule().map_err(QueueError::Workers)?;
    let setup = Setup {
        core,
        instance: uuid::Uuid::new_v4().simple().to_string(),
        poll: settings
            .queue
            .poll_interval
            .get()
            .max(Duration::from_millis(20)),
        concurrency: settings.queue.concurrency.max(1),
    };

    let monitor = match queues.backend() {
        Backend::Embedded(queues) => kind_workers!(Monitor::new(), setup, queues.storages),
        Backend::Redis(queues) => kind_workers!(Monitor::new(), setup, queues.storages),
    };
    let gate = SweepGate::default();
    let instance = Instance(setup.instance.clone());
    let first_pass = sweep::at_start(setup.core.clone(), gate.clone(), instance.clone());
    let monitor = monitor
        .register(move |restarts| {
            let pause = restart_pause(restarts);
            // No concurrency limit: a cron backend that is not polled when its next tick is
            // due fails the worker (`SweepGate` keeps sweeps from overlapping instead).
            WorkerBuilder::new(worker_name("sweep", &setup.instance, restarts))
                .backend(
                    CronScheduler::new(schedule.clone()).before_start(move |_| pause_for(pause)),
                )
                .data(setup.core.clone())
                .data(gate.clone())
                .data(instance.clone())
                .build(sweep::sweep)
        })
        .should_restart(|worker, error| {
            if worker.is_shutting_down() {
                return false;
            }
            tracing::warn!(worker = worker.name(), %error, "job worker failed; restarting");
            true
        });

    tracing::info!(
        embedded = queues.is_embedded(),
        sweep = %every.expression,
        "job workers starting"
    );
    tokio::spawn(first_pass);
    let (stop, stopped) = oneshot::channel::<()>();
    let monitor = tokio::spawn(monitor.run_with_signal(async move {
        // A dropped sender (the `Workers` was dropped) stops nothing: only `shutdown` does.
        if stopped.await.is_err() {
            std::future::pending::<()>().await;
        }
        Ok(())
    }));
    Ok(Workers {
        stop,
        monitor,
        grace: settings.server.shutdown_timeout.get(),
    })
}

impl Workers {
    /// Stops taking jobs, lets in-flight jobs finish for up to `server.shutdown_timeout`,
    /// then abandons the rest (their jobs are re-run once their lock expires).
    pub async fn shutdown(self) {
        let Workers {
            stop,
            mut monitor,
            grace,
        } = self;
        let _already_gone = stop.send(());
        match tokio::time::timeout(grace, &mut monitor).await {
            Ok(Ok(Ok(()))) => tracing::info!("job workers stopped"),
            Ok(Ok(Err(error))) => tracing::warn!(%error, "job workers stopped with errors"),
            Ok(Err(error)) => tracing::error!(%error, "the job monitor task failed"),
            Err(_) => {
                monitor.abort();
                tracing::warn!(
                    grace_secs = grace.as_secs(),
                    "job workers did not stop in time; abandoned"
                );
            }
        }
    }
}

/// `{kind}-{instance}-{restarts}`: unique per process and per restart, so a restarted
/// worker never collides with its own not-yet-expired registration.
fn worker_name(kind: &str, instance: &str, restarts: usize) -> String {
    format!("{kind}-{instance}-{restarts}")
}

/// How long a restarted worker waits before polling again: none at first, then doubling
/// from 1 s to 30 s, so a backend that keeps failing (Redis down) is not hammered in a loop.
fn restart_pause(restarts: usize) -> Duration {
    match restarts {
        0 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 1).min(5)).min(Duration::from_secs(30)),
    }
}

async fn pause_for<E>(pause: Duration) -> Result<(), E> {
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_pauses_grow_and_are_capped() {
        assert_eq!(restart_pause(0), Duration::ZERO);
        assert_eq!(restart_pause(1), Duration::from_secs(1));
        assert_eq!(restart_pause(2), Duration::from_secs(2));
        assert_eq!(restart_pause(5), Duration::from_secs(16));
        assert_eq!(restart_pause(6), Duration::from_secs(30));
        assert_eq!(restart_pause(1_000), Duration::from_secs(30));
    }

    #[test]
    fn worker_names_differ_per_restart() {
        assert_ne!(
            worker_name("sweep", "abc", 0),
            worker_name("sweep", "abc", 1)
        );
    }
}
