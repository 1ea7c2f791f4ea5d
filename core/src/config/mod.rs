//! Sluice's settings: one tree, layered built-in defaults → optional TOML file named by
//! `SLUICE_CONFIG` → `SLUICE__SECTION__KEY` environment variables, then validated once,
//! reporting every problem together.
//!
//! Invariants: unknown keys are errors (a typo never silently falls back to a default);
//! secrets are `SecretString` and never reach `Debug` or logs; nothing here is global:
//! the loaded `Settings` is passed to the app and worker builders.

mod layers;
mod profile;
mod rate_limits;
mod scanner;
mod secrets;
mod units;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

pub use layers::{ConfigError, from_layers, load, load_from};
pub use profile::{Disposition, ProfileSettings};
pub use rate_limits::{
    ClientIpHeader, Limit, ProfileRateLimits, Rate, RateLimitSettings, RouteClass, RouteLimits,
};
pub use scanner::{ClamdAddress, InfectedAction, ScanTooLarge, ScannerSettings};
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
    pub cleanup: CleanupSettings,
    pub quota: QuotaSettings,
    pub webhooks: WebhookSettings,
    pub audit: AuditSettings,
    pub admin: AdminSettings,
    pub retention: RetentionSettings,
    pub uppy: UppySettings,
    /// What the unauthenticated `/readyz` and `/metrics` may cost.
    pub ops: OpsSettings,
    /// Request rate limits per route class, owner and client IP; none by default.
    pub rate_limits: RateLimitSettings,
    /// The malware scanner profiles with `scan = true` use; none by default.
    pub scanner: ScannerSettings,
    /// Batch sessions (`POST /v1/uploads/batch`).
    pub batch: BatchSettings,
    /// OpenTelemetry traces; off by default.
    pub telemetry: TelemetrySettings,
    /// Upload profiles by name; a `default` profile always exists.
    pub profiles: BTreeMap<String, ProfileSettings>,
    /// More object stores by name (`[stores.NAME]`, each an external S3-compatible store
    /// with its own endpoint, bucket, credentials and capability switches); a profile
    /// names the one its uploads go to (`profiles.NAME.store`). `[storage]` is the store
    /// named `default`, the one a profile naming none uses. None by default.
    pub stores: BTreeMap<String, StorageSettings>,
}

/// The name of the store `[storage]` configures: the one profiles use unless they name
/// another, and the one recorded on sessions older than per-profile stores.
pub const DEFAULT_STORE: &str = "default";

impl Settings {
    /// The settings of the store called `name` (`default` is `[storage]`).
    pub fn store_settings(&self, name: &str) -> Option<&StorageSettings> {
        if name == DEFAULT_STORE {
            Some(&self.storage)
        } else {
            self.stores.get(name)
        }
    }

    /// Every configured store with its name, `default` first.
    pub fn every_store(&self) -> impl Iterator<Item = (&str, &StorageSettings)> {
        std::iter::once((DEFAULT_STORE, &self.storage))
            .chain(self.stores.iter().map(|(n, s)| (n.as_str(), s)))
    }

    /// The settings of the store a profile's uploads go to. Validation guarantees every
    /// profile's store exists; `[storage]` answers for one that would not.
    pub fn store_of(&self, profile: &ProfileSettings) -> &StorageSettings {
        self.store_settings(profile.store_name())
            .unwrap_or(&self.storage)
    }
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
    /// `text` (default) or `json`: one JSON object a line, with the request id.
    pub log_format: LogFormat,
    /// Serve the upload page at `/` and the admin dashboard at `/admin`. Default: on in
    /// embedded mode (no `storage.endpoint`), off otherwise.
    #[serde(deserialize_with = "lenient_opt")]
    pub pages: Option<bool>,
    /// The origins (`scheme://host[:port]`) of the pages that may use the session cookie
    /// of the `/s3/*` routes: Sluice's public origin, or the application's when a proxy
    /// serves Sluice under it. Default: the listening address (its loopback names for a
    /// loopback or unspecified one), over `http`; set it behind a proxy or TLS.
    pub public_origins: Vec<String>,
}

impl ServerSettings {
    /// Whether the pages are served, given whether the store is the embedded one.
    pub fn pages_enabled(&self, embedded_store: bool) -> bool {
        self.pages.unwrap_or(embedded_store)
    }
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: PathBuf::from("./data"),
            shutdown_timeout: Dur::secs(30),
            workers: 0,
            log_format: LogFormat::Text,
            pages: None,
            public_origins: Vec::new(),
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
    /// How long a dispatched job may go unfinished before it counts as lost (the queue
    /// or the worker died) and is dispatched again. Longer than any job runs. Default `2m`.
    pub dispatch_lease: Dur,
    /// Retry delays per job kind, replacing the kind's declared schedule, e.g.
    /// `cleanup_session = ["1s", "30s", "5m"]`. Kinds that never give up repeat the last
    /// delay forever.
    pub retry: BTreeMap<String, Vec<Dur>>,
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
            dispatch_lease: Dur::secs(120),
            retry: BTreeMap::new(),
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
    /// Whether the store takes browser-form POST policies (AWS, GCS, MinIO, Ceph and the
    /// embedded store do; R2 and B2 do not). Uppy's `/s3/params` needs them. Default true.
    #[serde(deserialize_with = "lenient")]
    pub post_policy: bool,
    /// Whether the store honours `If-None-Match: *` on a PUT (B2 answers NotImplemented).
    /// When false, profiles default to `one_time = false` and a profile that sets
    /// `one_time = true` is refused at start. Default true.
    #[serde(deserialize_with = "lenient")]
    pub if_none_match: bool,
    /// Whether the store checks `x-amz-checksum-sha256` on a PUT and reports it back on a
    /// HEAD (AWS S3 and the embedded store do; Ceph RGW 16 ignores it). When true, a single
    /// PUT of an upload that declares a `sha256` signs the header, and completion rejects
    /// an object the store does not report that digest for. Default: true for the
    /// embedded store, false for an external one (see `checksums()`).
    #[serde(deserialize_with = "lenient_opt")]
    pub checksums: Option<bool>,
    /// Whether the store answers ListMultipartUploads. When false the sweep does not look
    /// for stale multipart uploads and relies on the bucket's lifecycle rule
    /// (AbortIncompleteMultipartUpload). Default: false for the embedded store (it cannot
    /// list them), true for an external one.
    #[serde(deserialize_with = "lenient_opt")]
    pub list_multipart_uploads: Option<bool>,
    /// Whether the store takes DeleteObjects (up to 1,000 keys in one request): cleanups
    /// then cost one billed request per 1,000 keys. When false, or when the store answers
    /// NotImplemented, every key is one DELETE. Default true.
    #[serde(deserialize_with = "lenient")]
    pub delete_objects: bool,
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
            post_policy: true,
            if_none_match: true,
            checksums: None,
            list_multipart_uploads: None,
            delete_objects: true,
        }
    }
}

impl StorageSettings {
    /// True when Sluice serves its own store from `{data_dir}/objects`.
    pub fn is_embedded(&self) -> bool {
        self.endpoint.is_none()
    }

    /// Whether the store enforces and reports SHA-256 checksums. Unset, only the embedded
    /// store is trusted to: an external store that ignores the header (Ceph RGW 16) would
    /// otherwise see every honest upload with a `sha256` rejected for a digest it never
    /// reports.
    pub fn checksums(&self) -> bool {
        self.checksums.unwrap_or_else(|| self.is_embedded())
    }

    /// Whether the sweep may list the bucket's multipart uploads.
    pub fn list_multipart_uploads(&self) -> bool {
        self.list_multipart_uploads
            .unwrap_or_else(|| !self.is_embedded())
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
    /// The `aud` every upload token must name (RFC 7519 §4.1.3). Absent: a token naming
    /// any audience is refused, as the standard requires of a recipient with none.
    pub token_audience: Option<String>,
    /// The `iss` every upload token must carry. Absent: `iss` is not checked.
    pub token_issuer: Option<String>,
}

impl AuthSettings {
    /// What a token must say besides its signature.
    pub fn token_rules(&self) -> crate::auth::TokenRules {
        crate::auth::TokenRules {
            audience: self.token_audience.clone(),
            issuer: self.token_issuer.clone(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleanupSettings {
    /// After the last upload URL of an ended session expires, how long a transfer that
    /// started just before may still be landing; the key is cleaned once more after it.
    /// Default `1h`.
    pub late_put_grace: Dur,
    /// A multipart upload in the bucket that no live session owns is aborted by the sweep
    /// once it is this old (the window between the store creating it and Sluice recording
    /// it, with room for clock skew). Default `1h`.
    pub stale_multipart_grace: Dur,
}

impl Default for CleanupSettings {
    fn default() -> Self {
        Self {
            late_put_grace: Dur::secs(3600),
            stale_multipart_grace: Dur::secs(3600),
        }
    }
}

/// An owner's limits across every profile (each profile may set its own as well), and
/// the accounting job's schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSettings {
    /// Uploads per owner per UTC day over all profiles; absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub daily_uploads: Option<u64>,
    /// Bytes uploaded per owner per UTC day over all profiles; absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub daily_bytes: Option<ByteSize>,
    /// Bytes stored (and reserved by uploads in progress) per owner; absent means unlimited.
    #[serde(deserialize_with = "lenient_opt")]
    pub stored_bytes: Option<ByteSize>,
    /// How often the counters are recomputed from the sessions table. Default `1h`.
    pub reconcile_interval: Dur,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            daily_uploads: None,
            daily_bytes: None,
            stored_bytes: None,
            reconcile_interval: Dur::secs(3600),
        }
    }
}

/// Webhook endpoints (retries: `queue.retry.deliver_webhook`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// How long one attempt waits for the endpoint. Default `10s`.
    pub timeout: Dur,
    /// Endpoints by name.
    pub endpoints: BTreeMap<String, WebhookEndpoint>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Dur::secs(10),
            endpoints: BTreeMap::new(),
        }
    }
}

/// One webhook endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// `http(s)://…` the events are POSTed to.
    pub url: String,
    /// The Standard Webhooks secret, `whsec_` and base64 of at least 24 bytes.
    pub secret: SecretString,
    /// Event types it wants (`upload.uploaded`, `upload.rejected`, `upload.expired`,
    /// `upload.committed`, `file.deleted`); empty means all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Profiles whose uploads it hears about; empty means all.
    #[serde(default)]
    pub profiles: Vec<String>,
}

/// `[batch]`: how many sessions one `POST /v1/uploads/batch` may create.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchSettings {
    /// Items a batch request may hold (refused whole above it: 422 `validation_failed`).
    /// Default 1000; at most 10,000.
    #[serde(deserialize_with = "lenient")]
    pub max_items: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self { max_items: 1000 }
    }
}

/// `/readyz` and `/metrics`: probes anyone can call, so what they cost is bounded.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSettings {
    /// How long `/readyz`'s answer (a billed store request, database queries) and the
    /// database gauges of `/metrics` are reused: N calls in this window cost one probe.
    /// Default `2s`; `0s` probes on every call.
    pub probe_cache: Dur,
    /// When set, `GET /metrics` answers only `Authorization: Bearer <this token>` (or an
    /// admin key). Default unset: open, as before.
    pub metrics_token: Option<SecretString>,
    /// Where a workers-only process (`sluice worker`) serves `GET /healthz`, `/readyz` and
    /// `/metrics` (its job runs, webhook attempts, scans and store calls are counted in
    /// that process, not in the API's). Default unset: a worker listens on nothing.
    pub worker_bind: Option<SocketAddr>,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            probe_cache: Dur::secs(2),
            metrics_token: None,
            worker_bind: None,
        }
    }
}

/// OpenTelemetry traces: every request and every job a span tree (database transactions
/// and store calls inside), a caller's `traceparent` continued, and carried through the
/// job table into the jobs a request causes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// Base URL of an OTLP/HTTP receiver (`http://collector:4318`); spans go to
    /// `{otlp_endpoint}/v1/traces` as protobuf. Unset (default): no traces, no cost.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the spans. Default `sluice`.
    pub service_name: String,
    /// Share of new traces recorded, 0 to 1 (by trace id, so every process keeps or drops
    /// the same traces); a caller's sampled `traceparent` and a job's stored one are
    /// always followed. Default 1.
    #[serde(deserialize_with = "lenient")]
    pub sample_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "sluice".into(),
            sample_ratio: 1.0,
        }
    }
}

/// How long finished records are kept before the workers prune them (`0`: forever).
/// What is not yet safe to forget is always kept, whatever its age (see
/// `sluice_core::retention`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Sessions that ended without a file (rejected, aborted, expired) or whose file was
    /// deleted, counted from their last transition, pruned with their audit events,
    /// webhook deliveries and attempts. Committed sessions are never pruned. Default `30d`.
    pub sessions: Dur,
    /// Audit events of any session, counted from the event; never before every configured
    /// sink has shipped them. Default `90d`.
    pub audit_events: Dur,
    /// Webhook deliveries that were delivered or given up, with their attempts, counted
    /// from when they finished; a pending one is never pruned. Default `30d`.
    pub webhook_deliveries: Dur,
    /// How often a pruning pass runs (one process at a time). Default `1h`.
    pub interval: Dur,
    /// Rows per statement. Default 1000.
    #[serde(deserialize_with = "lenient")]
    pub batch: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            sessions: Dur::secs(30 * 86_400),
            audit_events: Dur::secs(90 * 86_400),
            webhook_deliveries: Dur::secs(30 * 86_400),
            interval: Dur::secs(3600),
            batch: 1000,
        }
    }
}

/// The admin API.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// How often the workers recompute the statistics rollup. Default `1m`.
    pub stats_interval: Dur,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            stats_interval: Dur::secs(60),
        }
    }
}

/// The Companion-compatible routes (`/s3/*`) that Uppy's `@uppy/aws-s3` calls.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UppySettings {
    /// The profile every upload made through `/s3/*` is a session of. Default `default`.
    pub profile: String,
    /// The part size Uppy cuts multipart uploads into when the application sends the
    /// file's size (`metadata.size`): Sluice then signs each part's exact length, so it
    /// must equal Uppy's `getChunkSize` (5 MiB, Uppy's own default for files up to about
    /// 48 GiB, unless the page sets another). Default `5MiB`.
    pub part_size: ByteSize,
}

impl Default for UppySettings {
    fn default() -> Self {
        Self {
            profile: "default".into(),
            part_size: ByteSize(5 * ByteSize::MIB),
        }
    }
}

/// Where the audit stream is shipped, in order, at least once.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Append every event as a JSON line to this file (one host; the file is its own
    /// cursor, so no event is written twice).
    pub file: Option<PathBuf>,
    /// POST events in batches (`{"events": [...]}`) to this URL; at least once.
    pub http_url: Option<String>,
    /// Sent as `Authorization: Bearer …` to `http_url`.
    pub http_token: Option<SecretString>,
    /// Events per shipment. Default 500.
    #[serde(deserialize_with = "lenient")]
    pub batch: u64,
    /// How long a gap in the event ids may be waited for (a transaction that has not
    /// committed yet) before it is taken as a rolled-back id. Default `10s`.
    pub settle: Dur,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            file: None,
            http_url: None,
            http_token: None,
            batch: 500,
            settle: Dur::secs(10),
        }
    }
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
