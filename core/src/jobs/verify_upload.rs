//! `VerifyUpload`: finishes the verification of a session left `verifying` (the store was
//! unreachable during `complete`, or the API process died mid-request). While the store
//! stays away the job fails and is retried on its schedule; the session's own
//! verification deadline, not this job, decides when to give up on it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobKind, Retry};
use crate::ids::UploadId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyUpload {
    pub upload_id: UploadId,
}

impl JobKind for VerifyUpload {
    const KIND: &'static str = "verify_upload";
    // Each attempt is one billed HEAD: back off quickly to a slow, steady pace.
    const RETRY: Retry = Retry {
        delays: &[
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(120),
            Duration::from_secs(600),
            Duration::from_secs(1_800),
            Duration::from_secs(3_600),
        ],
        forever: true,
    };
    const ENDS_WITH_STATE: bool = true;

    fn upload_id(&self) -> Option<UploadId> {
        Some(self.upload_id)
    }
}
