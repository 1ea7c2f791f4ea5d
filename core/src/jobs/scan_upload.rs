//! `ScanUpload`: has the malware scanner read a `scanning` session's stored bytes and
//! moves the session on by its verdict (`upload::scan`). While the scanner or the store
//! stays away the job fails and is retried on its schedule; the session's verification
//! deadline, not this job, decides when to give up on it, and nothing is passed for want
//! of a scanner.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobKind, Retry};
use crate::ids::UploadId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanUpload {
    pub upload_id: UploadId,
}

impl JobKind for ScanUpload {
    const KIND: &'static str = "scan_upload";
    // A scanner restart takes seconds to a minute (clamd loads its databases): ask
    // often at first, then settle to a steady pace until the verification deadline.
    const RETRY: Retry = Retry {
        delays: &[
            Duration::from_secs(2),
            Duration::from_secs(5),
            Duration::from_secs(15),
            Duration::from_secs(60),
            Duration::from_secs(300),
            Duration::from_secs(900),
        ],
        forever: true,
    };
    const ENDS_WITH_STATE: bool = true;

    fn upload_id(&self) -> Option<UploadId> {
        Some(self.upload_id)
    }
}
