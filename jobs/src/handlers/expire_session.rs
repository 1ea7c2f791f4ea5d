//! `ExpireSession`: expires a session whose deadline has passed. The job is pushed with its
//! `run_at` rounded up to the deadline's next whole second, and the use case re-checks the
//! deadline anyway, so an early or repeated delivery is a no-op.

use apalis::prelude::{Attempt, BoxDynError, Data};
use sluice_core::Core;
use sluice_core::jobs::ExpireSession;
use sluice_core::upload::service;

use super::verdict;

#[tracing::instrument(skip_all, fields(upload_id = %job.upload_id, attempt = attempt.current()))]
pub async fn expire_session(
    job: ExpireSession,
    core: Data<Core>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let outcome = service::expire(&core, job.upload_id).await;
    if let Ok(true) = outcome {
        tracing::info!("session expired");
    }
    verdict(ExpireSession::QUEUE, &attempt, outcome.map(|_| ()))
}
