//! `ExpireSession`: expires a live session once its deadline has passed. Written by every
//! transition that sets a deadline, due at that deadline; the use case re-checks the
//! deadline, so an early, late or repeated run is harmless.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobKind, Retry};
use crate::ids::UploadId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireSession {
    pub upload_id: UploadId,
}

impl JobKind for ExpireSession {
    const KIND: &'static str = "expire_session";
    // Only the database can fail it; a deadline must be enforced eventually.
    const RETRY: Retry = Retry {
        delays: &[
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(120),
            Duration::from_secs(600),
        ],
        forever: true,
    };
    const ENDS_WITH_STATE: bool = true;

    fn upload_id(&self) -> Option<UploadId> {
        Some(self.upload_id)
    }
}
