//! The shared store: every bucket is one Redis key holding its TAT in microseconds, under
//! `{queue.namespace:ratelimit}:` (braces included: a Redis Cluster hash tag), and one Lua script decides a request against all of its
//! buckets atomically (the arithmetic of `gcra.rs`, line for line).
//!
//! Time is Redis's own (`TIME`), not the replica's: every replica then judges by one
//! clock, so a replica whose clock runs ahead cannot spend another's budget early, and
//! one behind cannot grant extra. Keys expire (`SET … PX`) when their TAT has passed, the
//! moment they would mean nothing anyway.
//!
//! Invariants: the URL (its password) never reaches an error text; a check waits at most
//! `CHECK_TIMEOUT` for Redis; every failure is an `Err` for the caller to fail open on.

use std::sync::OnceLock;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

use super::gcra::{Decision, Gcra};

/// The longest a request waits for the limiter before it is let through.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// KEYS: the buckets. ARGV: interval and tolerance (µs) of each bucket, in order.
/// Returns `{1}` when charged, `{0, bucket, wait_us}` (bucket 1-based) when refused.
const SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tats = {}
local refused, longest = 0, 0
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local allow_at = tat - tolerance
  if now < allow_at and allow_at - now > longest then
    refused, longest = i, allow_at - now
  end
  tats[i] = tat + interval
end
if refused > 0 then return {0, refused, longest} end
for i = 1, #KEYS do
  local ttl = math.ceil((tats[i] - now) / 1000)
  redis.call('SET', KEYS[i], string.format('%d', tats[i]), 'PX', string.format('%d', ttl))
end
return {1}
";

pub struct RedisStore {
    client: redis::Client,
    conn: OnceLock<ConnectionManager>,
    script: redis::Script,
    prefix: String,
    /// Scrubbed from error texts.
    secrets: Vec<String>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on `url`; connects on first use (and reconnects by itself).
    pub fn new(url: &SecretString, namespace: &str) -> Result<Self, String> {
        use redis::IntoConnectionInfo;
        let info = url
            .expose_secret()
            .into_connection_info()
            .map_err(|_| "queue.redis_url does not parse".to_owned())?;
        let mut secrets = vec![url.expose_secret().to_owned()];
        secrets.extend(info.redis_settings().password().map(str::to_owned));
        let client = redis::Client::open(info).map_err(|e| scrub(&e, &secrets))?;
        Ok(Self {
            client,
            conn: OnceLock::new(),
            script: redis::Script::new(SCRIPT),
            // A hash tag: the script takes every bucket of a request at once, so on a
            // Redis Cluster they must share a slot (all of them do: one shard serves the
            // limiter, a few hundred thousand script calls a second).
            prefix: format!("{{{namespace}:ratelimit}}:"),
            secrets,
        })
    }

    fn conn(&self) -> Result<ConnectionManager, String> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn.clone());
        }
        // Short timeouts and one retry: a request must never wait long for its limiter.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CHECK_TIMEOUT))
            .set_response_timeout(Some(CHECK_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| scrub(&e, &self.secrets))?;
        Ok(self.conn.get_or_init(|| conn).clone())
    }

    /// Decides a request against `buckets` (key and limit) and charges it if it passes.
    pub async fn check(&self, buckets: &[(String, Gcra)]) -> Result<Decision, String> {
        let mut conn = self.conn()?;
        let mut call = self.script.prepare_invoke();
        for (key, g) in buckets {
            call.key(format!("{}{key}", self.prefix))
                .arg(g.interval)
                .arg(g.tolerance);
        }
        let answer: Vec<u64> = tokio::time::timeout(CHECK_TIMEOUT, call.invoke_async(&mut conn))
            .await
            .map_err(|_| format!("no answer within {}ms", CHECK_TIMEOUT.as_millis()))?
            .map_err(|e| scrub(&e, &self.secrets))?;
        match answer.as_slice() {
            [1] => Ok(Decision::Allow(Vec::new())),
            [0, bucket, wait] => Ok(Decision::Refuse {
                bucket: usize::try_from(*bucket).unwrap_or(1).saturating_sub(1),
                wait: *wait,
            }),
            other => Err(format!("unexpected answer from the script: {other:?}")),
        }
    }
}

/// The error's text with every secret replaced, in case a library quotes the URL.
fn scrub(e: &dyn std::fmt::Display, secrets: &[String]) -> String {
    let mut text = e.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "***");
    }
    text
}
