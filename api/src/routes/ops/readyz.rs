//! `GET /readyz`: the database, the job queue and the default store all answer. Probed
//! concurrently with a timeout each, so one stuck dependency cannot hang the probe. The
//! body also reports the job table (rows due, rows this version cannot read), which
//! never makes the process unready: a backlog is work, not a fault; and each
//! `[stores.NAME]` store, which does not either: such a store being away delays only its
//! own profiles' uploads, and taking the process out of a load balancer for it would
//! stop every other profile too.
//!
//! Anyone may call it, and the store probe is a billed request: the answer is reused for
//! `ops.probe_cache` (default 2s), so N calls in that window cost one probe of each
//! dependency, however many arrive at once.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
    pub queue: &'static str,
    pub storage: &'static str,
    /// Each `[stores.NAME]` store: `ok` or `unavailable` (reported, never unready).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stores: std::collections::BTreeMap<String, &'static str>,
    /// The job table, when the database answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobBacklog>,
}

/// What the job table holds.
#[derive(Clone, Serialize, ToSchema)]
pub struct JobBacklog {
    /// Every stored job: due, waiting for its time, or running.
    pub stored: u64,
    /// Jobs due now (running or about to).
    pub due: u64,
    /// Seconds the oldest due job has waited.
    pub oldest_due_seconds: Option<i64>,
    /// Jobs this version cannot read (written by a newer one); kept for it.
    pub undecodable: u64,
}

/// Readiness.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let core = &state.core;
    let period = core.settings.ops.probe_cache.get();
    let answer = state
        .readiness
        .get(core.now(), period, || async {
            Ok::<_, std::convert::Infallible>(probe_all(&state).await)
        })
        .await;
    let body = match answer {
        Ok(body) => body,
        Err(never) => match never {},
    };
    if body.status == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Asks every dependency now.
async fn probe_all(state: &AppState) -> Readiness {
    let core = &state.core;
    let named = core
        .stores
        .iter()
        .filter(|(name, _)| *name != sluice_core::config::DEFAULT_STORE)
        .map(|(name, store)| async move { (name.to_owned(), probe(name, store.probe()).await) });
    let (db, queue, store, named) = futures::join!(
        probe("database", sluice_core::db::ping(&core.db)),
        probe("queue", (state.queue_probe)()),
        probe("storage", core.stores.default_store().probe()),
        futures::future::join_all(named),
    );
    let ready = db && queue && store;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let now = core.now();
    let jobs = match db {
        true => sluice_core::outbox::backlog(&core.db, now).await.ok(),
        false => None,
    }
    .map(|b| JobBacklog {
        stored: b.total,
        due: b.due,
        oldest_due_seconds: b.oldest_due.map(|at| (now - at).num_seconds()),
        undecodable: b.undecodable,
    });
    Readiness {
        status: word(ready),
        database: word(db),
        queue: word(queue),
        storage: word(store),
        stores: named
            .into_iter()
            .map(|(name, ok)| (name, word(ok)))
            .collect(),
        jobs,
    }
}

async fn probe<E: std::fmt::Display>(
    what: &str,
    check: impl std::future::Future<Output = Result<(), E>>,
) -> bool {
    match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(dependency = what, error = %e, "not ready");
            false
        }
        Err(_) => {
            tracing::warn!(dependency = what, "readiness probe timed out");
            false
        }
    }
}
