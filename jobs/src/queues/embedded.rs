//! The embedded queue: apalis-sqlite in its own file `{data_dir}/jobs.db` with its own pool,
//! so job polling never competes with the application's database for its writer lock, and
//! the application's migrations never see apalis's tables.

use std::path::Path;
use std::time::Duration;

use std::collections::BTreeMap;

use apalis::prelude::{Metrics, TaskSink};
use apalis_sqlite::{Config, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage};
use sluice_core::config::QueueSettings;
use sluice_core::jobs::{Dispatch, Job};

use super::{HEARTBEAT, MISSED_HEARTBEATS, QueueError, queue_name, task, unknown_kind};

/// Connections of the queue's pool: each worker polls and beats on its own, and the relay
/// pushes meanwhile; SQLite serialises the writes anyway.
const POOL_SIZE: u32 = 8;

/// One storage per job kind, all on one pool.
#[derive(Clone)]
pub(crate) struct EmbeddedQueues {
    pool: SqlitePool,
    pub(crate) storages: BTreeMap<&'static str, SqliteStorage<Dispatch>>,
}

impl EmbeddedQueues {
    /// Opens (creating if needed) `{data_dir}/jobs.db` and brings apalis's schema up to date.
    pub(crate) async fn open(
        data_dir: &Path,
        settings: &QueueSettings,
    ) -> Result<Self, QueueError> {
        std::fs::create_dir_all(data_dir).map_err(|source| QueueError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path = data_dir.join("jobs.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            // A worker's poll waits for another's write instead of failing with `database is locked`.
            .busy_timeout(Duration::from_secs(5));
        let failed =
            |e: &dyn std::fmt::Display| QueueError::Embedded(format!("{}: {e}", path.display()));
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(options)
            .await
            .map_err(|e| failed(&e))?;
        SqliteStorage::setup(&pool).await.map_err(|e| failed(&e))?;

        let config = |queue: &str| {
            Config::default()
                .queue(queue_name(&settings.namespace, '.', queue))
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS)
                // A worker should not lock more jobs than it can run at once: the rest stay
                // available to other processes sharing the file.
                .batch_size(settings.concurrency.max(1))
        };
        let storages = Job::KINDS
            .iter()
            .map(|kind| {
                (
                    kind.name,
                    SqliteStorage::new(&pool).with_config(config(kind.name)),
                )
            })
            .collect();
        Ok(Self { pool, storages })
    }

    pub(crate) async fn push(
        &self,
        kind: &str,
        dispatch: Dispatch,
        key: &str,
    ) -> Result<(), QueueError> {
        // `push_task` takes `&mut self`; the clone shares the pool.
        let mut storage = self
            .storages
            .get(kind)
            .ok_or_else(|| unknown_kind(kind))?
            .clone();
        storage
            .push_task(task(dispatch, key))
            .await
            .map_err(|e| QueueError::Embedded(e.to_string()))
    }

    pub(crate) async fn ping(&self) -> Result<(), QueueError> {
        let connection = self
            .pool
            .acquire()
            .await
            .map_err(|e| QueueError::Embedded(e.to_string()))?;
        drop(connection);
        Ok(())
    }

    pub(crate) async fn waiting(&self) -> Result<BTreeMap<&'static str, u64>, QueueError> {
        let mut counts = BTreeMap::new();
        for (kind, storage) in &self.storages {
            counts.insert(*kind, pending(storage.fetch_by_queue().await)?);
        }
        Ok(counts)
    }
}

/// The `PENDING_JOBS` statistic of one queue (includes jobs not due yet).
fn pending(
    stats: Result<Vec<apalis::prelude::Statistic>, apalis_sqlite::Error>,
) -> Result<u64, QueueError> {
    let stats = stats.map_err(|e| QueueError::Embedded(e.to_string()))?;
    let value = stats
        .iter()
        .find(|s| s.title == "PENDING_JOBS")
        .and_then(|s| s.value.parse::<f64>().ok())
        .unwrap_or(0.0);
    // A count, stored by SQLite as REAL.
    Ok(value.max(0.0) as u64)
}
