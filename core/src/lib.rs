//! `sluice-core`: Sluice's domain. The API and the workers are thin adapters around it;
//! neither depends on the other.
//!
//! `Core` is the explicit context every use case receives: the database, the store, the
//! settings and the relay signal. There are no globals, so tests build one per app.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod file;
pub mod ids;
pub mod jobs;
pub mod naming;
pub mod outbox;
pub mod storage;
pub mod sweep;
pub mod upload;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use error::{CoreError, CoreResult};

use config::{ProfileSettings, Settings};
use outbox::RelaySignal;
use storage::S3Store;

/// The context of every use case. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Core {
    pub db: DatabaseConnection,
    pub store: S3Store,
    pub settings: Arc<Settings>,
    pub relay: RelaySignal,
}

impl Core {
    pub fn new(db: DatabaseConnection, store: S3Store, settings: Arc<Settings>) -> Self {
        Self {
            db,
            store,
            settings,
            relay: RelaySignal::default(),
        }
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
