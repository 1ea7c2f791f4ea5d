//! `CleanupSession`: removes from the bucket whatever a session that left the books may
//! have left under its key, in a batch with every other round that is due. Owed by every transition into a terminal state, retried
//! forever with capped backoff (an outage of any length ends with a clean bucket), and
//! repeated once after the session's last upload URL expired, for a late PUT.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobKind, Retry};
use crate::ids::UploadId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupSession {
    pub upload_id: UploadId,
}

impl JobKind for CleanupSession {
    const KIND: &'static str = "cleanup_session";
    const RETRY: Retry = Retry {
        delays: &[
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(120),
            Duration::from_secs(600),
            Duration::from_secs(1_800),
            Duration::from_secs(3_600),
        ],
        forever: true,
    };
    const ENDS_WITH_STATE: bool = false;

    fn upload_id(&self) -> Option<UploadId> {
        Some(self.upload_id)
    }
}
