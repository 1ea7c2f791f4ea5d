//! `VerifyUpload`: finishes the verification of a session left in `verifying` (the store was
//! unreachable during `complete`, or the API process died mid-request). A session in any
//! other state is already settled, and the use case returns `Ok`.

use apalis::prelude::{Attempt, BoxDynError, Data};
use sluice_core::Core;
use sluice_core::jobs::VerifyUpload;
use sluice_core::upload::service;

use super::verdict;

#[tracing::instrument(skip_all, fields(upload_id = %job.upload_id, attempt = attempt.current()))]
pub async fn verify_upload(
    job: VerifyUpload,
    core: Data<Core>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let outcome = service::verify_pending(&core, job.upload_id).await;
    verdict(VerifyUpload::QUEUE, &attempt, outcome)
}
