//! The production queue: apalis-redis on one multiplexed connection manager shared by every
//! typed storage. Keys live under `{namespace:queue}:` (a hash tag: one queue's keys share a
//! Redis Cluster slot, see `redis_queue_name`), so deployments and test runs that share one
//! Redis never see each other's jobs.
//!
//! Invariant: the URL (and so the password) is never formatted into an error or a log; only
//! the address (`host:port`) is.

use std::time::Duration;

use std::collections::BTreeMap;

use apalis::prelude::TaskSink;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use redis::IntoConnectionInfo;
use redis::aio::ConnectionManagerConfig;
use secrecy::{ExposeSecret, SecretString};
use sluice_core::config::QueueSettings;
use sluice_core::jobs::{Dispatch, Job};

use super::{HEARTBEAT, MISSED_HEARTBEATS, QueueError, redis_queue_name, task, unknown_kind};

/// How long `connect` waits for Redis before reporting it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a pushed idempotency key is remembered. A dispatch is pushed twice only when a
/// relay retries a push whose answer it lost, within seconds; a bound keeps the keys from
/// piling up forever.
const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// One storage per job kind, all on one connection manager.
#[derive(Clone)]
pub(crate) struct RedisQueues {
    conn: ConnectionManager,
    /// Error texts are scrubbed of these before they leave this module.
    secrets: Vec<String>,
    pub(crate) storages: BTreeMap<&'static str, RedisStorage<Dispatch>>,
}

impl RedisQueues {
    /// Connects and checks the server answers; an unreachable Redis is an error, not a hang.
    pub(crate) async fn connect(
        url: &SecretString,
        settings: &QueueSettings,
    ) -> Result<Self, QueueError> {
        // The parse error may quote the URL, so it is dropped.
        let info = url
            .expose_secret()
            .into_connection_info()
            .map_err(|_| QueueError::RedisUrl)?;
        let addr = info.addr().to_string();
        let mut secrets = vec![url.expose_secret().to_owned()];
        secrets.extend(info.redis_settings().password().map(str::to_owned));
        let unreachable = |reason: String| QueueError::RedisUnreachable {
            addr: addr.clone(),
            reason,
        };

        let client = redis::Client::open(info).map_err(|e| unreachable(scrub(&e, &secrets)))?;
        // Few, short retries: a Redis that refuses now is reported within a second or two
        // rather than after the default ladder; later reconnects retry on every command.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_secs(1));
        let mut conn = tokio::time::timeout(
            CONNECT_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(scrub(&e, &secrets)))?;
        ping(&mut conn)
            .await
            .map_err(|e| unreachable(scrub(&e, &secrets)))?;

        let config = |queue: &str| {
            Config::default()
                .queue(redis_queue_name(&settings.namespace, queue))
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS)
                .batch_size(settings.concurrency.max(1))
                .idempotency_ttl(Some(IDEMPOTENCY_TTL))
        };
        let storages = Job::KINDS
            .iter()
            .map(|kind| {
                let storage = RedisStorage::new(conn.clone()).with_config(config(kind.name));
                (kind.name, storage)
            })
            .collect();
        Ok(Self {
            conn,
            secrets,
            storages,
        })
    }

    pub(crate) async fn push(
        &self,
        kind: &str,
        dispatch: Dispatch,
        key: &str,
    ) -> Result<(), QueueError> {
        // `push_task` takes `&mut self`; the clone shares the connection.
        let mut storage = self
            .storages
            .get(kind)
            .ok_or_else(|| unknown_kind(kind))?
            .clone();
        storage
            .push_task(task(dispatch, key))
            .await
            .map_err(|e| QueueError::Redis(scrub(&e, &self.secrets)))
    }

    pub(crate) async fn ping(&self) -> Result<(), QueueError> {
        ping(&mut self.conn.clone())
            .await
            .map_err(|e| QueueError::Redis(scrub(&e, &self.secrets)))
    }

    /// Due (`:active`) plus delayed (`:scheduled`) messages per kind. apalis's `Metrics`
    /// is not used: it breaks with `WRONGTYPE` once a job has finished.
    pub(crate) async fn waiting(&self) -> Result<BTreeMap<&'static str, u64>, QueueError> {
        let mut conn = self.conn.clone();
        let mut counts = BTreeMap::new();
        for (kind, storage) in &self.storages {
            let config = storage.get_config();
            let active: u64 = redis::cmd("LLEN")
                .arg(config.active_jobs_list())
                .query_async(&mut conn)
                .await
                .map_err(|e| QueueError::Redis(scrub(&e, &self.secrets)))?;
            let scheduled: u64 = redis::cmd("ZCARD")
                .arg(config.scheduled_jobs_set())
                .query_async(&mut conn)
                .await
                .map_err(|e| QueueError::Redis(scrub(&e, &self.secrets)))?;
            counts.insert(*kind, active + scheduled);
        }
        Ok(counts)
    }
}

async fn ping(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    let _pong: String = redis::cmd("PING").query_async(conn).await?;
    Ok(())
}

/// The error's text with every secret replaced, in case a library quotes the URL.
fn scrub(error: &dyn std::fmt::Display, secrets: &[String]) -> String {
    let mut text = error.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_the_url_and_password() {
        let secrets = vec!["redis://:hunter2@db:6379/".to_owned(), "hunter2".to_owned()];
        let text = scrub(
            &"cannot reach redis://:hunter2@db:6379/ (auth hunter2)",
            &secrets,
        );
        assert_eq!(text, "cannot reach *** (auth ***)");
    }
}
