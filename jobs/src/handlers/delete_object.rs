//! `DeleteObject`: deletes the object of a session that left the bucket's books (aborted,
//! expired, rejected, deleted). The use case refuses to delete the object of a session that
//! is meant to keep it, and deleting a missing object succeeds, so repeats are harmless.

use apalis::prelude::{Attempt, BoxDynError, Data};
use sluice_core::Core;
use sluice_core::jobs::DeleteObject;
use sluice_core::upload::service;

use super::verdict;

#[tracing::instrument(skip_all, fields(upload_id = %job.upload_id, attempt = attempt.current()))]
pub async fn delete_object(
    job: DeleteObject,
    core: Data<Core>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let outcome = service::delete_object(&core, &job).await;
    verdict(DeleteObject::QUEUE, &attempt, outcome)
}
