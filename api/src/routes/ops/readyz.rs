//! `GET /readyz`: the database, the job queue and the store all answer. Probed
//! concurrently with a timeout each, so one stuck dependency cannot hang the probe.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
    pub queue: &'static str,
    pub storage: &'static str,
}

/// Readiness.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let core = &state.core;
    let (db, queue, store) = futures::join!(
        probe("database", sluice_core::db::ping(&core.db)),
        probe("queue", (state.queue_probe)()),
        probe("storage", core.store.probe()),
    );
    let ready = db && queue && store;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let body = Readiness {
        status: word(ready),
        database: word(db),
        queue: word(queue),
        storage: word(store),
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
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
