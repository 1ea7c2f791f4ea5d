//! Sluice's settings: one tree, layered built-in defaults → optional TOML file named by
//! `SLUICE_CONFIG` → `SLUICE__SECTION__KEY` environment variables, then validated once,
//! reporting every problem together.
//!
//! Invariants: unknown keys are errors (a typo never silently falls back to a default);
//! secrets are `SecretString` and never reach `Debug` or logs; nothing here is global:
//! the loaded `Settings` is passed to the app and worker builders.

mod layers;
mod profile;
mod secrets;
mod units;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

pub use layers::{ConfigError, load, load_from};
pub use profile::{Disposition, ProfileSettings};
pub use secrets::EmbeddedSecrets;
pub use units::{ByteSize, Dur, lenient, lenient_opt};

/// Everything Sluice can be told.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub queue: QueueSettings,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    /// Upload profiles by name; a `default` profile always exists.
    pub profiles: BTreeMap<String, ProfileSettings>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address of the HTTP API. Default `127.0.0.1:8787`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Where embedded mode keeps its SQLite files, generated secrets and objects. Default `./data`.
    pub data_dir: PathBuf,
    /// How long in-flight requests and jobs may take to finish on SIGTERM. Default `30s`.
    pub shutdown_timeout: Dur,
    /// HTTP worker threads; 0 means one per core. Default 0.
    #[serde(deserialize_with = "lenient")]
    pub workers: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: PathBuf::from("./data"),
            shutdown_timeout: Dur::secs(30),
            workers: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`. Absent: SQLite at `{data_dir}/sluice.db`.
    pub url: Option<SecretString>,
    /// Connection pool size. Default 10.
    #[serde(deserialize_with = "lenient")]
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueSettings {
    /// `redis://…`. Absent: the embedded queue (apalis-sqlite at `{data_dir}/jobs.db`).
    pub redis_url: Option<SecretString>,
    /// Prefix of every queue name, so several deployments (or test runs) share one Redis.
    /// Default `sluice`.
    pub namespace: String,
    /// How often an idle worker polls for due jobs; bounds how late a delayed job fires.
    /// Default `1s`.
    pub poll_interval: Dur,
    /// Jobs run at once per queue. Default 4.
    #[serde(deserialize_with = "lenient")]
    pub concurrency: usize,
    /// How often the relay drains the outbox even when nobody woke it. Default `5s`.
    pub relay_interval: Dur,
    /// How often the sweep looks for sessions past their deadline. Default `30s`.
    pub sweep_interval: Dur,
    /// Delay before the backstop verification job of a completed upload. Default `10s`.
    pub verify_delay: Dur,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            redis_url: None,
            namespace: "sluice".into(),
            poll_interval: Dur::secs(1),
            concurrency: 4,
            relay_interval: Dur::secs(5),
            sweep_interval: Dur::secs(30),
            verify_delay: Dur::secs(10),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `http(s)://host:port` of an S3-compatible store. Absent: the embedded store.
    pub endpoint: Option<String>,
    /// Bucket holding every object. Default `sluice`.
    pub bucket: String,
    /// Signing region. Default `us-east-1`.
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Path-style URLs (`endpoint/bucket/key`) instead of virtual-host style. Default false;
    /// the embedded store always uses path style.
    #[serde(deserialize_with = "lenient")]
    pub force_path_style: bool,
    /// Listener of the embedded store. Default `127.0.0.1:8788`.
    pub embedded_bind: SocketAddr,
    /// Timeout of one call to the store (HEAD, DELETE). Default `10s`.
    pub request_timeout: Dur,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "sluice".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            force_path_style: false,
            embedded_bind: SocketAddr::from(([127, 0, 0, 1], 8788)),
            request_timeout: Dur::secs(10),
        }
    }
}

impl StorageSettings {
    /// True when Sluice serves its own store from `{data_dir}/objects`.
    pub fn is_embedded(&self) -> bool {
        self.endpoint.is_none()
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// HS256 secret of upload tokens, at least 32 bytes. Absent: generated and kept in
    /// `{data_dir}/secrets.toml`.
    pub token_secret: Option<SecretString>,
    /// Keys of the application's backend (may act for any owner via `X-Sluice-Owner`).
    pub service_keys: Vec<SecretString>,
    /// Keys of operators, for `/v1/admin/*` only.
    pub admin_keys: Vec<SecretString>,
}

impl Settings {
    /// The URL of the database, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match &self.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("sluice.db").display()
            ),
        }
    }

    /// The profile called `name`, if configured.
    pub fn profile(&self, name: &str) -> Option<&ProfileSettings> {
        self.profiles.get(name)
    }
}
