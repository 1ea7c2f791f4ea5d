//! Boots a whole Sluice process from `Settings`: the embedded store (when no endpoint is
//! configured), the database and its migrations, the job queue, the relay, the workers
//! and the HTTP API. `sluice serve` runs all of it, `sluice serve --no-workers` the API
//! alone, `sluice worker` everything but the API. Tests boot the very same thing on
//! port 0, with a clock they can advance.
//!
//! Invariant: start-up fails with a sentence an operator can act on (bucket missing,
//! store unreachable, database refused) instead of a panic; stop() closes the API first,
//! then the workers, then the store, so no in-flight request loses its dependencies.

mod doctor;
pub mod healthcheck;
pub mod telemetry;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sluice_api::{AppState, Application, QueueProbe};
use sluice_core::Core;
use sluice_core::clock::{Clock, SystemClock};
use sluice_core::config::Settings;
use sluice_core::storage::{ObjectStore, S3Store, Stores};
use sluice_embedded_store::{EmbeddedStore, EmbeddedStoreConfig};
use sluice_jobs::{Queues, Workers};

pub use doctor::{doctor, doctor_at};

/// Which parts this process runs. Every role runs a relay, so jobs written by its requests
/// are dispatched at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// API and workers together (`sluice serve`).
    All,
    /// The API alone (`sluice serve --no-workers`), beside `sluice worker` processes.
    Api,
    /// Workers only (`sluice worker`).
    Worker,
}

impl Role {
    fn serves_api(self) -> bool {
        match self {
            Role::All | Role::Api => true,
            Role::Worker => false,
        }
    }

    fn runs_workers(self) -> bool {
        match self {
            Role::All | Role::Worker => true,
            Role::Api => false,
        }
    }
}

/// Wraps the object store before anything uses it (tests inject faults a real store
/// cannot produce on demand).
pub type StoreWrapper = Box<dyn FnOnce(Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> + Send>;

/// What a process is started with besides its settings.
pub struct Boot {
    pub role: Role,
    pub clock: Arc<dyn Clock>,
    pub wrap_store: Option<StoreWrapper>,
}

impl Boot {
    pub fn new(role: Role) -> Self {
        Self {
            role,
            clock: Arc::new(SystemClock),
            wrap_store: None,
        }
    }
}

/// A running Sluice.
pub struct Running {
    pub core: Core,
    pub queues: Queues,
    /// `http://host:port` of the API, when this process serves it.
    pub api_url: Option<String>,
    /// `http://host:port` of a workers-only process's operations routes
    /// (`ops.worker_bind`), when it serves them.
    pub ops_url: Option<String>,
    /// `http://host:port` of the store (embedded or configured).
    pub store_url: String,
    store: Option<EmbeddedStore>,
    api: Option<(
        actix_web::dev::ServerHandle,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
    workers: Option<Workers>,
    relay: actix::Addr<sluice_jobs::Relay>,
}

/// Starts every part `role` needs. Must run inside an actix `System` (the relay is an actor).
pub async fn start(settings: Settings, role: Role) -> anyhow::Result<Running> {
    start_with(settings, Boot::new(role)).await
}

/// `start` with a chosen clock and store wrapper.
pub async fn start_with(settings: Settings, boot: Boot) -> anyhow::Result<Running> {
    let role = boot.role;
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
    let s3: Arc<dyn ObjectStore> =
        Arc::new(S3Store::new(&settings.storage, Some(&store_url)).context("storage settings")?);
    if let Err(e) = s3.probe().await {
        let problem = match e {
            sluice_core::storage::StoreError::NoSuchBucket => {
                format!(
                    "bucket `{}` does not exist at the store",
                    settings.storage.bucket
                )
            }
            other => other.to_string(),
        };
        anyhow::bail!("object store at {store_url} is not usable: {problem}");
    }
    let s3 = match boot.wrap_store {
        Some(wrap) => wrap(s3),
        None => s3,
    };
    let stores = named_stores(&settings, Stores::single(s3)).await?;

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
    // Counter rows of scopes this configuration does not limit stop counting now: drop
    // them, so a limit added back later starts from the true usage.
    sluice_core::quota::forget_unlimited(&db, &settings)
        .await
        .context("cannot drop quota counters no limit needs")?;

    let core = Core::with_clock(db, stores, settings.clone(), boot.clock);
    // A scanner that is away delays its profiles' uploads; it does not stop the rest.
    if let Err(problem) = sluice_core::scan::check_at_start(&settings).await {
        tracing::warn!("{problem}");
    }
    let queues = Queues::connect(&settings)
        .await
        .context("cannot reach the job queue")?;
    let relay = sluice_jobs::start_relay(core.clone(), queues.clone());
    let workers = if role.runs_workers() {
        Some(
            sluice_jobs::start_workers(core.clone(), queues.clone())
                .await
                .context("cannot start the workers")?,
        )
    } else {
        None
    };

    let mut api_url = None;
    let mut ops_url = None;
    let mut api = None;
    let probe_queues = queues.clone();
    let probe: QueueProbe = Arc::new(move || {
        let q = probe_queues.clone();
        Box::pin(async move { q.ping().await.map_err(|e| e.to_string()) })
    });
    if role.serves_api() {
        let listener = TcpListener::bind(settings.server.bind)
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        let app = Application::build(
            AppState::new(core.clone(), probe),
            listener,
            settings.server.workers,
            settings.server.shutdown_timeout.get(),
        )?;
        api_url = Some(format!("http://{addr}"));
        let handle = app.handle();
        api = Some((handle, tokio::spawn(app.run_until_stopped())));
    } else if let Some(bind) = settings.ops.worker_bind {
        // A workers-only process counts its own jobs, webhook attempts and store calls:
        // it serves /metrics (and the health routes) so they can be scraped.
        let listener = TcpListener::bind(bind)
            .with_context(|| format!("cannot listen on ops.worker_bind {bind}"))?;
        let addr = listener.local_addr()?;
        let app = Application::build_ops(
            AppState::new(core.clone(), probe),
            listener,
            settings.server.shutdown_timeout.get(),
        )?;
        ops_url = Some(format!("http://{addr}"));
        let handle = app.handle();
        api = Some((handle, tokio::spawn(app.run_until_stopped())));
    }
    Ok(Running {
        core,
        queues,
        api_url,
        ops_url,
        store_url,
        store,
        api,
        workers,
        relay,
    })
}

/// `stores` with every `[stores.NAME]` added. Each is probed at start, concurrently; one
/// that does not answer is reported and kept: it delays only its own profiles' uploads
/// (their calls fail as the store's outage until it is back), never the others'.
async fn named_stores(settings: &Settings, stores: Stores) -> anyhow::Result<Stores> {
    let mut built = Vec::new();
    for (name, st) in &settings.stores {
        let store: Arc<dyn ObjectStore> = Arc::new(
            S3Store::new(st, None).with_context(|| format!("settings of store `{name}`"))?,
        );
        built.push((name.clone(), store));
    }
    let probes = built.iter().map(|(name, store)| async move {
        if let Err(e) = store.probe().await {
            tracing::warn!(store = %name, bucket = store.bucket_name(), error = %e, "store does not answer; its profiles' uploads wait for it");
        }
    });
    futures::future::join_all(probes).await;
    Ok(built
        .into_iter()
        .fold(stores, |stores, (name, store)| stores.with(&name, store)))
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
    /// Dispatches every due job row into the queue now (tests, and before shutdown).
    pub async fn drain_outbox(&self) -> anyhow::Result<usize> {
        self.relay
            .send(sluice_jobs::Drain)
            .await
            .context("relay stopped")?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Runs every job that is due by the core's clock, and every job those jobs make due,
    /// to completion (success, or rescheduled to a later retry). For tests: instead of
    /// sleeping until a job has run, advance the clock and drain. Needs this process's
    /// workers.
    ///
    /// A dispatched row that no worker has run after `UNFETCHED` is run here, through the
    /// same `execute` a worker calls (apalis 1.0 workers were seen, under a whole suite's
    /// load, to leave pushed messages unfetched for over a minute; in production the row
    /// waits for a worker that fetches it). It is logged, so a stall is never silent.
    ///
    /// Done only once nothing has been due for `SETTLED`: a job that parks (a webhook
    /// delivery behind an earlier one) commits its postponed row, then looks once more and
    /// wakes it if what it waited for has ended; between the two, nothing is due although
    /// the job is about to run again (seen in CI: a drain ended in that gap, and the test
    /// read the delivery still pending).
    pub async fn drain_jobs(&self) -> anyhow::Result<()> {
        const UNFETCHED: Duration = Duration::from_secs(15);
        const SETTLED: Duration = Duration::from_millis(100);
        anyhow::ensure!(self.workers.is_some(), "this process runs no workers");
        let started = tokio::time::Instant::now();
        let give_up = started + Duration::from_secs(60);
        let mut first_seen: std::collections::HashMap<i64, tokio::time::Instant> =
            std::collections::HashMap::new();
        let mut idle_since: Option<tokio::time::Instant> = None;
        loop {
            self.drain_outbox().await?;
            let due = sluice_core::outbox::due_count(&self.core.db, self.core.now()).await?;
            if due == 0 {
                let since = *idle_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= SETTLED {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            idle_since = None;
            let rows = sluice_core::outbox::due_rows(&self.core.db, self.core.now(), 100).await?;
            let at = tokio::time::Instant::now();
            for row in rows {
                let seen = *first_seen.entry(row.id).or_insert(at);
                let Some(token) = row.dispatch_token.clone() else {
                    continue;
                };
                if at.duration_since(seen) < UNFETCHED {
                    continue;
                }
                tracing::warn!(job = %row.job, row = row.id, "no worker fetched this job; the drain runs it");
                let dispatch = sluice_core::jobs::Dispatch { row: row.id, token };
                sluice_core::jobs::execute(&self.core, &dispatch).await?;
                first_seen.remove(&row.id);
            }
            if tokio::time::Instant::now() >= give_up {
                let now = self.core.now();
                let rows = sluice_core::outbox::due_rows(&self.core.db, now, 10).await?;
                let rows: Vec<String> = rows.iter().map(sluice_core::outbox::describe).collect();
                anyhow::bail!("{due} due jobs still not run after 60s (now {now}): {rows:#?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Runs one sweep pass now (tests), as the scheduled sweep would.
    pub async fn sweep_now(&self) -> sluice_core::sweep::SweepReport {
        sluice_core::sweep::run(&self.core).await.expect("sweep")
    }

    /// Runs one retention pass now (tests), as the scheduled one would.
    pub async fn prune_now(&self) -> sluice_core::retention::Pruned {
        sluice_core::retention::prune(&self.core)
            .await
            .expect("prune")
    }

    /// Ships the audit stream to its sinks now (tests), as the workers do each turn.
    pub async fn ship_audit_now(&self) -> sluice_core::audit::sink::Shipped {
        sluice_core::audit::sink::ship_turn(&self.core, "tests")
            .await
            .expect("ship")
            .expect("no other process ships meanwhile")
    }

    /// Stops the API (finishing in-flight requests), then the workers, then the store.
    pub async fn stop(mut self) {
        if let Some((handle, task)) = self.api.take() {
            handle.stop(true).await;
            let _ = task.await;
        }
        // Jobs written by the last requests are queued now rather than at the next start.
        let _ = self.drain_outbox().await;
        if let Some(workers) = self.workers {
            workers.shutdown().await;
        }
        if let Some(store) = self.store {
            store.shutdown().await;
        }
        self.core.db.clone().close().await.ok();
    }
}
