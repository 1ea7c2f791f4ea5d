//! Command-line parsing and the subcommands. Each subcommand loads settings the same way
//! (`SLUICE_CONFIG`, `SLUICE__…`), so `sluice token` signs with the secret `serve` uses.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use sluice::{Role, start};
use sluice_core::config::{self, Dur, LogFormat, Settings};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "The upload control plane beside your S3 bucket"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the workers (the default).
    Serve {
        /// Run the API alone; `sluice worker` processes run the jobs.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run the workers only, to scale background work out.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Ask a running Sluice's `GET /healthz` (the container's health check); exits 0 on
    /// a 200.
    Healthcheck {
        /// `host:port` to ask. Default: `server.bind`, on loopback when unspecified.
        #[arg(long)]
        addr: Option<String>,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Probe the configured store with throwaway keys and print what it really does, per
    /// capability Sluice relies on, beside the `[storage]` switches. Exits 1 when the
    /// configuration claims what the store lacks (or the run could not clean up).
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The store to probe: `default` (`[storage]`) or a `[stores.NAME]`.
        #[arg(long, default_value = "default")]
        store: String,
    },
    /// Quota accounting.
    Quota {
        #[command(subcommand)]
        action: QuotaCommand,
    },
    /// Mint an upload token for a user (development and scripts).
    Token {
        /// The owner id (`sub`).
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// Restrict the token to this profile (repeatable).
        #[arg(long = "profile")]
        profiles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum QuotaCommand {
    /// Recompute every owner's counters from the sessions table and repair drift.
    Reconcile,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve { no_workers: false }) {
        Command::Openapi => print_openapi(),
        Command::Token { sub, ttl, profiles } => mint(&sub, &ttl, profiles),
        Command::Migrate => with_settings(|s| run_async(migrate(s))),
        Command::Healthcheck { addr } => {
            let asked = match addr {
                Some(addr) => Ok(addr),
                None => config::load()
                    .map(|s| sluice::healthcheck::local_address(s.server.bind).to_string())
                    .map_err(anyhow::Error::from),
            };
            match asked.and_then(|addr| sluice::healthcheck::check(&addr)) {
                Ok(()) => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("unhealthy: {e:#}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Command::Quota {
            action: QuotaCommand::Reconcile,
        } => with_settings(|s| run_async(reconcile_quota(s))),
        Command::Serve { no_workers } => {
            let role = if no_workers { Role::Api } else { Role::All };
            with_settings(|s| run_async(serve(s, role)))
        }
        Command::Worker => with_settings(|s| run_async(serve(s, Role::Worker))),
        Command::Doctor { json, store } => {
            let mut failed = false;
            let result = with_settings_logging(DOCTOR_LOG, |s| {
                run_async(async {
                    let report = sluice::doctor(&s, &store).await?;
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        print!("{}", report.render());
                    }
                    failed = report.failed();
                    Ok(())
                })
            });
            if result.is_ok() && failed {
                return ExitCode::FAILURE;
            }
            result
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, as text or (`server.log_format = "json"`) one JSON object a line, and
/// exports spans when `telemetry.otlp_endpoint` is set (the returned exporter is shut
/// down at exit, which sends what is still batched).
fn init_tracing(
    format: LogFormat,
    default: &str,
    telemetry: &config::TelemetrySettings,
) -> anyhow::Result<Option<sluice::telemetry::Telemetry>> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, Registry, fmt};
    let filter = EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let (exporter, otel) = match sluice::telemetry::Telemetry::start::<Registry>(telemetry)? {
        Some((exporter, layer)) => (Some(exporter), Some(layer)),
        None => (None, None),
    };
    // The OpenTelemetry layer sits on the registry itself, so the log filter below never
    // hides a span from it; the filter applies to the log output only.
    let registry = tracing_subscriber::registry().with(otel);
    let logs = fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => registry.with(logs.with_filter(filter)).init(),
        LogFormat::Json => registry
            .with(logs.json().with_current_span(true).with_filter(filter))
            .init(),
    }
    Ok(exporter)
}

/// What a process logs unless `SLUICE_LOG` says otherwise. s3s logs every refused request
/// (an expired URL, a HEAD of a missing key) as an error.
const LOG: &str = "info,s3s=warn,sqlx=warn,sea_orm=warn,apalis=warn";
/// `sluice doctor` provokes refusals on purpose: only its report is worth reading.
const DOCTOR_LOG: &str = "warn,s3s=off";

fn with_settings(run: impl FnOnce(Settings) -> anyhow::Result<()>) -> anyhow::Result<()> {
    with_settings_logging(LOG, run)
}

fn with_settings_logging(
    log: &str,
    run: impl FnOnce(Settings) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let settings = config::load()?;
    let telemetry = init_tracing(settings.server.log_format, log, &settings.telemetry)?;
    let result = run(settings);
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    result
}

/// Runs `fut` in an actix System on a multi-threaded tokio runtime: the relay is an actor,
/// and the embedded store and workers benefit from more than one thread.
fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot build the tokio runtime: {e}"))
    })
    .block_on(fut)
}

fn print_openapi() -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&sluice_api::openapi_document())?
    );
    Ok(())
}

fn mint(sub: &str, ttl: &str, profiles: Vec<String>) -> anyhow::Result<()> {
    let ttl: Dur = ttl.parse().map_err(anyhow::Error::msg)?;
    if sub.trim().is_empty() {
        anyhow::bail!("--sub must not be empty");
    }
    let settings = config::load()?;
    let rules = settings.auth.token_rules();
    let secret = settings
        .auth
        .token_secret
        .ok_or_else(|| anyhow::anyhow!("no auth.token_secret"))?;
    let profiles = (!profiles.is_empty()).then_some(profiles);
    // The configured audience and issuer, so the token passes this deployment's checks.
    let token = sluice_core::auth::mint_token_for(
        secret.expose_secret().as_bytes(),
        sub,
        ttl.get(),
        profiles,
        &rules,
    )?;
    println!("{token}");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let db = sluice_core::db::connect(&settings.database_url(), 1).await?;
    sluice_core::db::migrate(&db).await?;
    eprintln!("sluice: database is up to date");
    Ok(())
}

async fn reconcile_quota(settings: Settings) -> anyhow::Result<()> {
    let db = sluice_core::db::connect(&settings.database_url(), 2).await?;
    sluice_core::db::migrate(&db).await?;
    let now = sluice_core::clock::Clock::now(&sluice_core::clock::SystemClock);
    sluice_core::quota::forget_unlimited(&db, &settings).await?;
    let repairs = sluice_core::quota::reconcile::reconcile_all(&db, now).await?;
    for r in &repairs {
        println!(
            "{} {} {}: {} -> {}",
            r.owner, r.scope, r.counter, r.was, r.now
        );
    }
    eprintln!("sluice: {} quota counters repaired", repairs.len());
    Ok(())
}

async fn serve(settings: Settings, role: Role) -> anyhow::Result<()> {
    let banner = Banner::of(&settings);
    let running = start(settings, role).await?;
    banner.print(&running);
    wait_for_signal().await;
    tracing::info!("shutting down");
    let deadline = running.core.settings.server.shutdown_timeout.get() + Duration::from_secs(5);
    if tokio::time::timeout(deadline, running.stop())
        .await
        .is_err()
    {
        tracing::warn!("shutdown took longer than {:?}; exiting anyway", deadline);
    }
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The short start-up banner: where things are and how to get a token.
struct Banner {
    embedded_store: bool,
    embedded_db: bool,
    embedded_queue: bool,
    data_dir: String,
    bucket: String,
    pages: bool,
}

impl Banner {
    fn of(s: &Settings) -> Self {
        Self {
            embedded_store: s.storage.is_embedded(),
            embedded_db: s.database.url.is_none(),
            embedded_queue: s.queue.redis_url.is_none(),
            data_dir: s.server.data_dir.display().to_string(),
            bucket: s.storage.bucket.clone(),
            pages: s.server.pages_enabled(s.storage.is_embedded()),
        }
    }

    fn print(&self, running: &sluice::Running) {
        let kind = |embedded: bool, what: &str| {
            if embedded {
                format!("embedded {what}")
            } else {
                what.to_owned()
            }
        };
        println!("Sluice {} is up.", env!("CARGO_PKG_VERSION"));
        if let Some(api) = &running.api_url {
            println!("  API        {api}");
            println!("  Docs       {api}/docs");
            if self.pages {
                println!("  Upload     {api}/   (paste a token)");
                println!("  Admin      {api}/admin   (an auth.admin_keys entry)");
            }
        }
        println!(
            "  Store      {} (bucket {}, {})",
            running.store_url,
            self.bucket,
            kind(self.embedded_store, "S3 store")
        );
        println!(
            "  Database   {}    Queue   {}",
            if self.embedded_db {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            if self.embedded_queue {
                "embedded (SQLite)"
            } else {
                "Redis"
            }
        );
        if self.embedded_store || self.embedded_db || self.embedded_queue {
            println!("  Data       {}", self.data_dir);
        }
        println!("  Token      sluice token --sub alice   (cargo run -- token --sub alice)");
    }
}
