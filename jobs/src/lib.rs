//! `sluice-jobs`: Sluice's background work, a thin adapter around `sluice-core`.
//!
//! - [`Queues`]: the job queue (embedded SQLite or Redis) that jobs are pushed to.
//! - [`start_relay`]: the actor that moves the transactional outbox into the queue.
//! - [`start_workers`]: one apalis `Monitor` running a worker per job type and the
//!   periodic sweep; [`Workers::shutdown`] stops it gracefully.
//!
//! Invariants: worker names are unique per process and restart (apalis refuses a name
//! still registered); every worker polls at `queue.poll_interval`, because the backends
//! otherwise only look for due jobs on their heartbeat; retries are bounded on every
//! backend (see `handlers`).

pub mod handlers;
mod queues;
mod relay;
mod schedule;

use std::time::Duration;

use apalis::layers::retry::backoff::{ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::layers::retry::{BackoffRetryPolicy, HasherRng};
use apalis::prelude::*;
use apalis_cron::CronScheduler;
use sluice_core::Core;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use queues::{QueueError, Queues};
pub use relay::{Drain, Relay, Wake, start_relay};

use handlers::sweep::SweepGate;
use handlers::{MAX_ATTEMPTS, sweep};
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

/// What every job worker shares; cloned into each worker factory.
#[derive(Clone)]
struct Setup {
    core: Core,
    instance: String,
    poll: Duration,
    concurrency: usize,
    retry: BackoffRetryPolicy<ExponentialBackoff>,
}

/// Registers the worker of every job type on the typed storages `$queues`. A macro, because
/// a worker's type (backend, layers, handler) differs per job and per backend, and spelling
/// its bounds out would dwarf the wiring.
macro_rules! job_workers {
    ($monitor:expr, $setup:expr, $queues:expr) => {{
        let monitor = job_worker!($monitor, $setup, $queues.expire_session, expire_session);
        let monitor = job_worker!(monitor, $setup, $queues.verify_upload, verify_upload);
        job_worker!(monitor, $setup, $queues.delete_object, delete_object)
    }};
}

/// Registers one job worker; `$job` names the storage field, the handler module and function.
macro_rules! job_worker {
    ($monitor:expr, $setup:expr, $storage:expr, $job:ident) => {{
        let (setup, storage) = ($setup.clone(), $storage.clone());
        $monitor.register(move |restarts| {
            let pause = restart_pause(restarts);
            let backend = storage
                .clone()
                .poll_with_interval(setup.poll)
                .before_start(move |_| pause_for(pause));
            WorkerBuilder::new(worker_name(stringify!($job), &setup.instance, restarts))
                .backend(backend)
                .concurrency(setup.concurrency)
                .retry(setup.retry.clone())
                .data(setup.core.clone())
                .build(handlers::$job::$job)
        })
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
            .max(Duration::from_millis(100)),
        concurrency: settings.queue.concurrency.max(1),
        retry: retry_policy()?,
    };

    let monitor = match queues.backend() {
        Backend::Embedded(queues) => job_workers!(Monitor::new(), setup, queues),
        Backend::Redis(queues) => job_workers!(Monitor::new(), setup, queues),
    };
    let gate = SweepGate::default();
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

/// In-process retries with exponential backoff (1 s doubling to 30 s, jittered), for up to
/// `MAX_ATTEMPTS` runs in all: the SQLite backend itself re-runs failed jobs immediately,
/// so without this a short outage would use up every attempt in milliseconds.
fn retry_policy() -> Result<BackoffRetryPolicy<ExponentialBackoff>, QueueError> {
    let backoff = ExponentialBackoffMaker::new(
        Duration::from_secs(1),
        Duration::from_secs(30),
        0.5,
        HasherRng::default(),
    )
    .map_err(|e| QueueError::Workers(format!("retry backoff: {e}")))?
    .make_backoff();
    Ok(RetryPolicy::retries(MAX_ATTEMPTS - 1).with_backoff(backoff))
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
