//! `Stores`: every object store of one deployment, by its configured name: `default`
//! (`[storage]`) and each `[stores.NAME]`. A profile names the store its new uploads go
//! to; a session and its file record that name, and every later call about them (a part
//! URL, verification, a scan, a download, a cleanup round) goes to the store they
//! recorded, whatever the profile says by then.
//!
//! Invariants: `default` is always present; a name this deployment does not configure
//! (a section removed while sessions still live in it) answers `StoreError::Unconfigured`,
//! which is transient, so the work owed there waits for the store instead of being lost.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{MeteredStore, ObjectStore, StoreError};
use crate::config::DEFAULT_STORE;
use crate::metrics::Metrics;

/// The stores of a deployment by name. Cheap to share (`Arc`s inside).
#[derive(Clone, Debug)]
pub struct Stores {
    by_name: BTreeMap<String, Arc<dyn ObjectStore>>,
}

impl Stores {
    /// A deployment with the one store `default`.
    pub fn single(default: Arc<dyn ObjectStore>) -> Self {
        Self {
            by_name: BTreeMap::from([(DEFAULT_STORE.to_owned(), default)]),
        }
    }

    /// These stores and `store` under `name` (replacing one of that name).
    pub fn with(mut self, name: &str, store: Arc<dyn ObjectStore>) -> Self {
        self.by_name.insert(name.to_owned(), store);
        self
    }

    /// The store called `name`.
    pub fn get(&self, name: &str) -> Result<&Arc<dyn ObjectStore>, StoreError> {
        self.by_name
            .get(name)
            .ok_or_else(|| StoreError::Unconfigured(name.to_owned()))
    }

    /// The `default` store (`[storage]`).
    pub fn default_store(&self) -> &Arc<dyn ObjectStore> {
        // Present by construction: `single` puts it there and nothing removes it.
        &self.by_name[DEFAULT_STORE]
    }

    /// Every store with its name, `default` first, then by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<dyn ObjectStore>)> {
        let default = (DEFAULT_STORE, self.default_store());
        std::iter::once(default).chain(
            self.by_name
                .iter()
                .filter(|(name, _)| name.as_str() != DEFAULT_STORE)
                .map(|(name, store)| (name.as_str(), store)),
        )
    }

    /// Each store wrapped to count its calls under its name.
    pub(crate) fn metered(self, metrics: &Arc<Metrics>) -> Self {
        let by_name = self
            .by_name
            .into_iter()
            .map(|(name, store)| {
                let metered: Arc<dyn ObjectStore> =
                    Arc::new(MeteredStore::new(&name, store, metrics.clone()));
                (name, metered)
            })
            .collect();
        Self { by_name }
    }
}
