//! `Queues`: the transport from the relay to the workers. Either the embedded backend
//! (apalis-sqlite in its own file `{data_dir}/jobs.db`, never the application's database)
//! or Redis (apalis-redis), chosen by `queue.redis_url`.
//!
//! Invariants:
//! - one storage per declared job kind, on an explicit queue name built from the
//!   namespace and the kind's name (apalis would otherwise derive it from a Rust type
//!   name); every queue carries the same small message, a `Dispatch` (row id and token),
//!   because the job itself lives in the database's job table;
//! - messages are due at once: due times are kept by the job table on the core's clock,
//!   and the relay only dispatches what is due;
//! - pushing the same dispatch twice is a no-op (the idempotency key);
//! - no error message ever carries the Redis URL or its password.

mod embedded;
mod redis_queue;

use std::collections::BTreeMap;

use apalis::prelude::{Task, TaskBuilder};
use sluice_core::config::Settings;
use sluice_core::jobs::Dispatch;

pub(crate) use embedded::EmbeddedQueues;
pub(crate) use redis_queue::RedisQueues;

/// How often a worker proves it is alive. Together with `MISSED_HEARTBEATS` it bounds how
/// long the jobs of a crashed process stay locked before another worker takes them over.
///
/// It also bounds how late an idle worker takes a job pushed to it. apalis 1.0's worker
/// can stop fetching after it processed a job's lock and ack events, until its state
/// machine is driven again, which its heartbeat timer does: with a 5 s heartbeat a
/// commit's `upload.committed` webhook left 1.8–2.0 s late in about one run in seven, on
/// both backends (the relay had pushed it 16 ms after the commit); at 500 ms the latest of
/// 30 runs was 468 ms (`webhooks::committing_wakes_the_relay` prints its latency). The
/// cost is two small writes a second per worker, to Redis or to the embedded queue's own
/// SQLite file.
pub(crate) const HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(500);

/// Heartbeats a worker may miss before its jobs count as orphaned (30 s). Generous, because
/// a worker whose every slot is busy (retries sleep in their slot) does not poll, and so
/// does not beat; a false orphan only means a harmless second delivery.
pub(crate) const MISSED_HEARTBEATS: usize = 60;

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

    /// Queues `dispatch` on the queue of job kind `kind`, due now. Pushing twice with the
    /// same `idempotency_key` queues it once.
    pub async fn push(
        &self,
        kind: &str,
        dispatch: Dispatch,
        idempotency_key: &str,
    ) -> Result<(), QueueError> {
        match &self.backend {
            Backend::Embedded(q) => q.push(kind, dispatch, idempotency_key).await,
            Backend::Redis(q) => q.push(kind, dispatch, idempotency_key).await,
        }
    }

    /// A cheap round trip to the backend, for `/readyz`.
    pub async fn ping(&self) -> Result<(), QueueError> {
        match &self.backend {
            Backend::Embedded(q) => q.ping().await,
            Backend::Redis(q) => q.ping().await,
        }
    }

    /// Messages queued but not yet taken by a worker, per kind. For metrics and tests.
    pub async fn waiting(&self) -> Result<BTreeMap<&'static str, u64>, QueueError> {
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

/// The Redis queue name of a job type: `{namespace:queue}`, braces included. apalis-redis
/// prefixes every key of a queue with its name and its scripts take several of them at
/// once (active list, data hash, scheduled set…); the braces are a Redis Cluster hash tag,
/// so all of one queue's keys hash to one slot and every script stays legal on a cluster.
pub(crate) fn redis_queue_name(namespace: &str, queue: &str) -> String {
    format!("{{{}}}", queue_name(namespace, ':', queue))
}

/// The apalis task of one dispatch: due now, run once (a failed run is retried through the
/// job table, never by the queue), deduplicated by its idempotency key.
pub(crate) fn task(dispatch: Dispatch, idempotency_key: &str) -> Task<Dispatch> {
    TaskBuilder::new(dispatch)
        .max_attempts(1)
        .idempotency_key(idempotency_key)
        .build()
}

/// The queue of an undeclared kind: the relay never dispatches one, so reaching this is a
/// bug, reported instead of panicking.
pub(crate) fn unknown_kind(kind: &str) -> QueueError {
    QueueError::Workers(format!("no queue for job kind `{kind}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_join_namespace_and_queue() {
        assert_eq!(
            queue_name("sluice", '.', "expire_session"),
            "sluice.expire_session"
        );
        assert_eq!(
            queue_name("t1", ':', "cleanup_session"),
            "t1:cleanup_session"
        );
        assert_eq!(
            redis_queue_name("t1", "cleanup_session"),
            "{t1:cleanup_session}"
        );
    }
}
