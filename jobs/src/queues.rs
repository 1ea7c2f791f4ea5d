//! `Queues`: where the relay puts jobs and where the workers take them from. Either the
//! embedded backend (apalis-sqlite in its own file `{data_dir}/jobs.db`, never the
//! application's database) or Redis (apalis-redis), chosen by `queue.redis_url`.
//!
//! Invariants:
//! - one typed storage per job type, each on an explicit queue name built from the
//!   namespace and the job's `QUEUE` constant (apalis would otherwise derive it from the
//!   Rust type name, and a rename would silently abandon the queue);
//! - a job never becomes due before its `run_at`: apalis keeps whole seconds and compares
//!   with the floor of the clock, so `run_at` is rounded *up*;
//! - pushing the same outbox row twice is a no-op (the idempotency key);
//! - no error message ever carries the Redis URL or its password.

mod embedded;
mod redis_queue;

use apalis::prelude::{Backend as BackendTrait, Task, TaskBuilder, TaskSink, TaskSinkError};
use chrono::{DateTime, Utc};
use sluice_core::config::Settings;
use sluice_core::jobs::{DeleteObject, ExpireSession, Job, VerifyUpload};

pub(crate) use embedded::EmbeddedQueues;
pub(crate) use redis_queue::RedisQueues;

use crate::handlers::MAX_ATTEMPTS;

/// How often a worker proves it is alive. Together with `MISSED_HEARTBEATS` it bounds how
/// long the jobs of a crashed process stay locked before another worker takes them over.
pub(crate) const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// Heartbeats a worker may miss before its jobs count as orphaned (30 s). Generous, because
/// a worker whose every slot is busy (retries sleep in their slot) does not poll, and so
/// does not beat; a false orphan only means a harmless second delivery.
pub(crate) const MISSED_HEARTBEATS: usize = 6;

/// The job queue, embedded or Redis. Cheap to clone (pools and connection managers).
#[derive(Clone)]
pub struct Queues {
    backend: Backend,
}

impl std::fmt::Debug for Queues {
    // Only the kind: the storages hold pools and, for Redis, connection details.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_embedded() {
            "embedded"
        } else {
            "redis"
        };
        f.debug_struct("Queues").field("backend", &kind).finish()
    }
}

#[derive(Clone)]
pub(crate) enum Backend {
    Embedded(EmbeddedQueues),
    Redis(RedisQueues),
}

/// Why the job queue could not be opened or used. The Redis URL never appears here.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the embedded job queue failed: {0}")]
    Embedded(String),
    #[error("queue.redis_url is not a valid Redis URL")]
    RedisUrl,
    #[error("the Redis job queue at {addr} is unreachable: {reason}")]
    RedisUnreachable { addr: String, reason: String },
    #[error("the Redis job queue failed: {0}")]
    Redis(String),
    #[error("the workers could not be started: {0}")]
    Workers(String),
}

impl Queues {
    /// Opens the configured backend: Redis when `queue.redis_url` is set, otherwise the
    /// embedded queue at `{data_dir}/jobs.db` (the directory is created if needed).
    pub async fn connect(settings: &Settings) -> Result<Queues, QueueError> {
        let backend = match &settings.queue.redis_url {
            Some(url) => Backend::Redis(RedisQueues::connect(url, &settings.queue).await?),
            None => Backend::Embedded(
                EmbeddedQueues::open(&settings.server.data_dir, &settings.queue).await?,
            ),
        };
        Ok(Queues { backend })
    }

    /// Queues `job` to run at `run_at` (rounded up to the next whole second). Pushing twice
    /// with the same `idempotency_key` queues it once.
    pub async fn push(
        &self,
        job: &Job,
        run_at: DateTime<Utc>,
        idempotency_key: &str,
    ) -> Result<(), QueueError> {
        match &self.backend {
            Backend::Embedded(q) => q.push(job, run_at, idempotency_key).await,
            Backend::Redis(q) => q.push(job, run_at, idempotency_key).await,
        }
    }

    /// A cheap round trip to the backend, for `/readyz`.
    pub async fn ping(&self) -> Result<(), QueueError> {
        match &self.backend {
            Backend::Embedded(q) => q.ping().await,
            Backend::Redis(q) => q.ping().await,
        }
    }

    /// Jobs queued but not yet taken by a worker, over every queue, including those not due
    /// yet and (on Redis) those waiting for a retry. For `/readyz`, metrics and tests.
    pub async fn waiting(&self) -> Result<u64, QueueError> {
        match &self.backend {
            Backend::Embedded(q) => q.waiting().await,
            Backend::Redis(q) => q.waiting().await,
        }
    }

    /// True for the embedded (SQLite) backend, false for Redis.
    pub fn is_embedded(&self) -> bool {
        matches!(self.backend, Backend::Embedded(_))
    }

    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }
}

/// The queue name of a job type: `{namespace}{separator}{queue}`.
pub(crate) fn queue_name(namespace: &str, separator: char, queue: &str) -> String {
    format!("{namespace}{separator}{queue}")
}

/// Pushes `job` into whichever of one backend's typed storages holds its type: the same
/// match for SQLite and Redis, whose storages differ only in type.
pub(crate) async fn push_typed<E, V, D, K, Err>(
    expire_session: &E,
    verify_upload: &V,
    delete_object: &D,
    job: &Job,
    run_at: DateTime<Utc>,
    key: &str,
) -> Result<(), TaskSinkError<Err>>
where
    E: TaskSink<ExpireSession, K> + BackendTrait<Error = Err> + Clone,
    V: TaskSink<VerifyUpload, K> + BackendTrait<Error = Err> + Clone,
    D: TaskSink<DeleteObject, K> + BackendTrait<Error = Err> + Clone,
{
    // `push_task` takes `&mut self`; the clones share the pool or connection.
    match job {
        Job::ExpireSession(j) => {
            expire_session
                .clone()
                .push_task(task(j.clone(), run_at, key))
                .await
        }
        Job::VerifyUpload(j) => {
            verify_upload
                .clone()
                .push_task(task(j.clone(), run_at, key))
                .await
        }
        Job::DeleteObject(j) => {
            delete_object
                .clone()
                .push_task(task(j.clone(), run_at, key))
                .await
        }
    }
}

/// Unix seconds of the first whole second at or after `at`. apalis stores `run_at` in whole
/// seconds and runs a job once `floor(now) >= run_at`; flooring `at` instead would let a
/// deadline job fire up to a second before its deadline. Instants before 1970 mean "now".
pub(crate) fn due_second(at: DateTime<Utc>) -> u64 {
    let secs = at.timestamp();
    let secs = if at.timestamp_subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    };
    u64::try_from(secs).unwrap_or(0)
}

/// The apalis task for one payload: due second, idempotency key and the attempt cap (which
/// the SQLite backend honours; Redis ignores it, so the handlers also cap by `Attempt`).
pub(crate) fn task<T>(args: T, run_at: DateTime<Utc>, idempotency_key: &str) -> Task<T> {
    TaskBuilder::new(args)
        .run_at_timestamp(due_second(run_at))
        .max_attempts(MAX_ATTEMPTS)
        .idempotency_key(idempotency_key)
        .build()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn due_second_rounds_sub_seconds_up_and_keeps_whole_seconds() {
        let whole = Utc
            .timestamp_opt(1_700_000_000, 0)
            .single()
            .expect("valid instant");
        assert_eq!(due_second(whole), 1_700_000_000);
        let later = Utc
            .timestamp_opt(1_700_000_000, 1)
            .single()
            .expect("valid instant");
        assert_eq!(due_second(later), 1_700_000_001);
        let almost = Utc
            .timestamp_opt(1_700_000_000, 999_999_999)
            .single()
            .expect("valid instant");
        assert_eq!(due_second(almost), 1_700_000_001);
    }

    #[test]
    fn due_second_never_precedes_the_instant() {
        let at = Utc::now();
        assert!(due_second(at) as i64 >= at.timestamp());
        assert!(
            Utc.timestamp_opt(due_second(at) as i64, 0)
                .single()
                .expect("valid instant")
                >= at
        );
    }

    #[test]
    fn due_second_before_the_epoch_means_now() {
        let past = Utc.timestamp_opt(-5, 500).single().expect("valid instant");
        assert_eq!(due_second(past), 0);
    }

    #[test]
    fn queue_names_join_namespace_and_queue() {
        assert_eq!(
            queue_name("sluice", '.', "expire_session"),
            "sluice.expire_session"
        );
        assert_eq!(queue_name("t1", ':', "delete_object"), "t1:delete_object");
    }
}
