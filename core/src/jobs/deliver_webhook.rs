//! `DeliverWebhook`: one attempt to deliver one webhook message. Written beside the
//! transition that announces it; retried on a schedule that spans hours, with the same
//! `webhook-id` every time; given up (and reported) when the schedule ends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobKind, Retry};
use crate::ids::UploadId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: i64,
    /// The session announced, for the sweep's lost-job check.
    #[serde(default)]
    pub upload_id: Option<UploadId>,
}

impl JobKind for DeliverWebhook {
    const KIND: &'static str = "deliver_webhook";
    const RETRY: Retry = Retry {
        delays: &[
            Duration::from_secs(5),
            Duration::from_secs(300),
            Duration::from_secs(1_800),
            Duration::from_secs(7_200),
            Duration::from_secs(18_000),
            Duration::from_secs(36_000),
        ],
        forever: false,
    };
    const ENDS_WITH_STATE: bool = false;

    fn upload_id(&self) -> Option<UploadId> {
        self.upload_id
    }
}
