//! Boots a whole Sluice process from `Settings`: the embedded store (when no endpoint is
//! configured), the database and its migrations, the job queue, the outbox relay, the
//! workers and the HTTP API. `sluice serve` runs all of it; `sluice worker` everything
//! but the API. Tests boot the very same thing on port 0.
//!
//! Invariant: start-up fails with a sentence an operator can act on (bucket missing,
//! store unreachable, database refused) instead of a panic; stop() closes the API first,
//! then the workers, then the store, so no in-flight request loses its dependencies.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use sluice_api::{AppState, Application, QueueProbe};
use sluice_core::Core;
use sluice_core::config::Settings;
use sluice_core::storage::S3Store;
use sluice_core::storage::embedded::{EmbeddedStore, EmbeddedStoreConfig};
use sluice_jobs::{Queues, Workers};

/// Which parts this process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// API and workers together (`sluice serve`).
    All,
    /// Workers only (`sluice worker`).
    Worker,
}

/// A running Sluice.
pub struct Running {
    pub core: Core,
    pub queues: Queues,
    /// `http://host:port` of the API, when this process serves it.
    pub api_url: Option<String>,
    /// `http://host:port` of the store (embedded or configured).
    pub store_url: String,
    store: Option<EmbeddedStore>,
    api: Option<(
        actix_web::dev::ServerHandle,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
    workers: Workers,
    relay: actix::Addr<sluice_jobs::Relay>,
}

/// Starts every part `role` needs. Must run inside an actix `System` (the relay is an actor).
pub async fn start(settings: Settings, role: Role) -> anyhow::Result<Running> {
    let settings = Arc::new(settings);
    let store = if settings.storage.is_embedded() {
        Some(start_embedded_store(&settings).await?)
    } else {
        None
    };
    let store_url = match &store {
        Some(s) => s.endpoint(),
        None => settings.storage.endpoint.clone().unwrap_or_default(),
    };
    let s3 = S3Store::new(&settings.storage, Some(&store_url)).context("storage settings")?;
    s3.probe()
        .await
        .with_context(|| format!("object store at {store_url} is not usable"))?;

    if settings.database.url.is_none() {
        // The default SQLite file lives in the data directory, which nothing else may have
        // created yet (an external store and a configured token secret need no secrets file).
        std::fs::create_dir_all(&settings.server.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.server.data_dir.display()
            )
        })?;
    }
    let db = sluice_core::db::connect(&settings.database_url(), settings.database.max_connections)
        .await
        .context("cannot open the database")?;
    sluice_core::db::migrate(&db)
        .await
        .context("cannot migrate the database")?;

    let core = Core::new(db, s3, settings.clone());
    let queues = Queues::connect(&settings)
        .await
        .context("cannot reach the job queue")?;
    let relay = sluice_jobs::start_relay(core.clone(), queues.clone());
    let workers = sluice_jobs::start_workers(core.clone(), queues.clone())
        .await
        .context("cannot start the workers")?;

    let mut api_url = None;
    let mut api = None;
    if role == Role::All {
        let listener = TcpListener::bind(settings.server.bind)
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        let probe_queues = queues.clone();
        let probe: QueueProbe = Arc::new(move || {
            let q = probe_queues.clone();
            Box::pin(async move { q.ping().await.map_err(|e| e.to_string()) })
        });
        let app = Application::build(
            AppState::new(core.clone(), probe),
            listener,
            settings.server.workers,
            settings.server.shutdown_timeout.get(),
        )?;
        api_url = Some(format!("http://{addr}"));
        let handle = app.handle();
        api = Some((handle, tokio::spawn(app.run_until_stopped())));
    }
    Ok(Running {
        core,
        queues,
        api_url,
        store_url,
        store,
        api,
        workers,
        relay,
    })
}

async fn start_embedded_store(settings: &Settings) -> anyhow::Result<EmbeddedStore> {
    use secrecy::ExposeSecret;
    let st = &settings.storage;
    let config = EmbeddedStoreConfig {
        root: settings.server.data_dir.join("objects"),
        bind: st.embedded_bind,
        access_key_id: st.access_key_id.clone().unwrap_or_default(),
        secret_access_key: st
            .secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .unwrap_or_default(),
        bucket: st.bucket.clone(),
    };
    EmbeddedStore::start(config)
        .await
        .with_context(|| format!("cannot start the embedded store on {}", st.embedded_bind))
}

impl Running {
    /// Moves every outbox row into the queue now (tests, and before shutdown).
    pub async fn drain_outbox(&self) -> anyhow::Result<usize> {
        self.relay
            .send(sluice_jobs::Drain)
            .await
            .context("relay stopped")?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Stops the API (finishing in-flight requests), then the workers, then the store.
    pub async fn stop(mut self) {
        if let Some((handle, task)) = self.api.take() {
            handle.stop(true).await;
            let _ = task.await;
        }
        // Jobs written by the last requests are queued now rather than at the next start.
        let _ = self.drain_outbox().await;
        self.workers.shutdown().await;
        if let Some(store) = self.store {
            store.shutdown().await;
        }
        self.core.db.clone().close().await.ok();
    }
}
