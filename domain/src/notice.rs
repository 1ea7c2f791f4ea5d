//! What webhooks announce: the events an application beside Sluice needs to learn
//! without polling. Which transition announces what is decided by the state machine's
//! plan, not by the use cases.

use serde::{Deserialize, Serialize};

/// A webhook event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Notice {
    #[serde(rename = "upload.uploaded")]
    Uploaded,
    #[serde(rename = "upload.rejected")]
    Rejected,
    #[serde(rename = "upload.expired")]
    Expired,
    #[serde(rename = "upload.committed")]
    Committed,
    #[serde(rename = "file.deleted")]
    FileDeleted,
    /// Every session of a batch is `uploaded` or ended (announced once per batch).
    #[serde(rename = "batch.completed")]
    BatchCompleted,
}

impl Notice {
    pub const ALL: [Notice; 6] = [
        Notice::Uploaded,
        Notice::Rejected,
        Notice::Expired,
        Notice::Committed,
        Notice::FileDeleted,
        Notice::BatchCompleted,
    ];

    /// The `type` of the payload, and what endpoints subscribe to.
    pub fn event_type(self) -> &'static str {
        match self {
            Notice::Uploaded => "upload.uploaded",
            Notice::Rejected => "upload.rejected",
            Notice::Expired => "upload.expired",
            Notice::Committed => "upload.committed",
            Notice::FileDeleted => "file.deleted",
            Notice::BatchCompleted => "batch.completed",
        }
    }

    pub fn from_event_type(name: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.event_type() == name)
    }
}
