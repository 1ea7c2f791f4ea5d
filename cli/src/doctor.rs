//! `sluice doctor`: builds a client of the configured store with every capability
//! switched on (so each is exercised) and runs `sluice_core::doctor` against it. In
//! embedded mode the embedded store is started for the run, or, when a running Sluice
//! already holds its address, probed there.

use anyhow::Context;
use sluice_core::config::Settings;
use sluice_core::doctor::Report;
use sluice_core::storage::S3Store;

use crate::start_embedded_store;

/// Probes the store `settings` configure and reports what it does.
pub async fn doctor(settings: &Settings) -> anyhow::Result<Report> {
    doctor_at(settings, None).await
}

/// `doctor`, against the store at `endpoint` when given (a running Sluice's embedded
/// store, for instance) instead of the configured one.
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
    let mut every_capability = settings.storage.clone();
    every_capability.if_none_match = true;
    every_capability.post_policy = true;
    every_capability.checksums = Some(true);
    every_capability.list_multipart_uploads = Some(true);
    every_capability.delete_objects = true;
    let store = S3Store::new(&every_capability, Some(&endpoint)).context("storage settings")?;
    let timeout = settings.storage.request_timeout.get();
    let report = sluice_core::doctor::run(&store, &settings.storage, &endpoint, timeout).await;
    if let Some(store) = embedded {
        store.shutdown().await;
    }
    Ok(report)
}
