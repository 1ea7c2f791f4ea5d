//! `sluice doctor [--store NAME]`: builds a client of a configured store (`default`, the
//! `[storage]` one, unless named) with every capability switched on (so each is
//! exercised) and runs `sluice_core::doctor` against it, comparing with what that store's
//! settings claim. In embedded mode the embedded store is started for the run, or, when a
//! running Sluice already holds its address, probed there.

use anyhow::Context;
use sluice_core::config::{DEFAULT_STORE, Settings, StorageSettings};
use sluice_core::doctor::Report;
use sluice_core::storage::S3Store;

use crate::start_embedded_store;

/// Probes the store `settings` configure as `name` and reports what it does.
pub async fn doctor(settings: &Settings, name: &str) -> anyhow::Result<Report> {
    if name == DEFAULT_STORE {
        return doctor_at(settings, None).await;
    }
    let Some(st) = settings.stores.get(name) else {
        let known: Vec<&str> = settings.every_store().map(|(n, _)| n).collect();
        anyhow::bail!(
            "no store `{name}` is configured (known: {})",
            known.join(", ")
        );
    };
    // Named stores are external (validation): their own endpoint.
    let endpoint = st.endpoint.clone().unwrap_or_default();
    probe(st, &endpoint).await
}

/// `doctor` of the default store, against the store at `endpoint` when given (a running
/// Sluice's embedded store, for instance) instead of the configured one.
pub async fn doctor_at(settings: &Settings, endpoint: Option<&str>) -> anyhow::Result<Report> {
    let embedded = if settings.storage.is_embedded() && endpoint.is_none() {
        // Taken by a running `sluice serve`: that is the same store, probe it there.
        start_embedded_store(settings).await.ok()
    } else {
        None
    };
    let endpoint = match (endpoint, &embedded, &settings.storage.endpoint) {
        (Some(given), _, _) => given.to_owned(),
        (None, Some(store), _) => store.endpoint(),
        (None, None, Some(endpoint)) => endpoint.clone(),
        (None, None, None) => format!("http://{}", settings.storage.embedded_bind),
    };
    let report = probe(&settings.storage, &endpoint).await;
    if let Some(store) = embedded {
        store.shutdown().await;
    }
    report
}

/// Runs the probes against the store `st` describes, at `endpoint`.
async fn probe(st: &StorageSettings, endpoint: &str) -> anyhow::Result<Report> {
    let mut every_capability = st.clone();
    every_capability.if_none_match = true;
    every_capability.post_policy = true;
    every_capability.checksums = Some(true);
    every_capability.list_multipart_uploads = Some(true);
    every_capability.delete_objects = true;
    let store = S3Store::new(&every_capability, Some(endpoint)).context("storage settings")?;
    let timeout = st.request_timeout.get();
    Ok(sluice_core::doctor::run(&store, st, endpoint, timeout).await)
}
