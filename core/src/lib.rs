//! `sluice-core`: Sluice's domain. The API and the workers are thin adapters around it;
//! neither depends on the other.
//!
//! `Core` is the explicit context every use case receives: the database, the object stores,
//! the clock, the settings, the retry schedules and the relay signal. There are no
//! globals, so tests build one per app (and may pin its clock or wrap its store).

pub mod admin;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod cached;
pub mod cleanup;
pub mod clock;
pub mod config;
pub mod db;
pub mod doctor;
pub mod error;
pub mod error_code;
pub mod file;
pub mod ids;
pub mod jobs;
pub mod lease;
pub mod metrics;
pub mod naming;
pub mod outbox;
pub mod quota;
pub mod ratelimit;
pub mod retention;
pub mod scan;
pub mod storage;
pub mod sweep;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod upload;
pub mod uppy;
pub mod webhooks;
pub mod write;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

pub use error::{CoreError, CoreResult};
pub use error_code::ErrorCode;

use clock::{Clock, SystemClock};
use config::{ProfileSettings, Settings};
use jobs::RetryTable;
use outbox::RelaySignal;
use storage::{ObjectStore, Stores};

/// The context of every use case. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Core {
    pub db: DatabaseConnection,
    /// Every object store by name; a session's calls go to `store(&session.store)`.
    pub stores: Arc<Stores>,
    pub settings: Arc<Settings>,
    pub relay: RelaySignal,
    pub clock: Arc<dyn Clock>,
    pub retry: Arc<RetryTable>,
    /// For outbound calls Sluice makes itself (webhooks, audit sinks); never file bytes.
    pub http: reqwest::Client,
    pub metrics: Arc<metrics::Metrics>,
    /// Pending multipart sessions the part-signing routes read lately (see its module).
    pub pending: Arc<upload::pending_cache::PendingCache>,
}

impl Core {
    /// A core on the system clock.
    pub fn new(db: DatabaseConnection, stores: Stores, settings: Arc<Settings>) -> Self {
        Self::with_clock(db, stores, settings, Arc::new(SystemClock))
    }

    pub fn with_clock(
        db: DatabaseConnection,
        stores: Stores,
        settings: Arc<Settings>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let retry = Arc::new(RetryTable::new(&settings.queue.retry));
        let metrics = Arc::new(metrics::Metrics::default());
        let stores = Arc::new(stores.metered(&metrics));
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            // A pooled connection is dropped after 2 s idle, before the receiver's own
            // keep-alive closes it (5 s in Node and actix-web). Reusing one the receiver
            // is closing at that moment fails the attempt ("request failed") and costs a
            // retry hours later; CI saw it under load, deliveries ~5 s apart.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            db,
            stores,
            settings,
            relay: RelaySignal::default(),
            clock,
            retry,
            http,
            metrics,
            pending: Arc::default(),
        }
    }

    /// The store called `name` (a session's or file's `store`, a profile's `store_name()`).
    pub fn store(&self, name: &str) -> Result<&Arc<dyn ObjectStore>, storage::StoreError> {
        self.stores.get(name)
    }

    /// Whether the store called `name` checks and reports SHA-256 checksums.
    pub fn store_checks_checksums(&self, name: &str) -> bool {
        self.settings
            .store_settings(name)
            .is_some_and(config::StorageSettings::checksums)
    }

    /// Now, by this core's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The named profile, or `UnknownProfile`.
    pub fn profile(&self, name: &str) -> CoreResult<&ProfileSettings> {
        self.settings
            .profile(name)
            .ok_or_else(|| CoreError::UnknownProfile(name.to_owned()))
    }

    /// The profile a stored session was created with; falls back to `default` if an
    /// operator removed it since, so old sessions still expire and download.
    pub fn profile_or_default(&self, name: &str) -> ProfileSettings {
        self.settings
            .profile(name)
            .or_else(|| self.settings.profile("default"))
            .cloned()
            .unwrap_or_default()
    }
}
