//! Job payloads and queue names, shared by the writers (use cases, through the outbox)
//! and the workers.
//!
//! Invariants: payloads carry ids, not snapshots; a new field gets `#[serde(default)]`;
//! a field is never renamed while old jobs may be queued; queue names are explicit
//! constants, never derived from Rust type names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UploadId;

/// Expire the session if its deadline has passed; delete its object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireSession {
    pub upload_id: UploadId,
}

impl ExpireSession {
    pub const QUEUE: &'static str = "expire_session";
}

/// Finish the verification of a session left in `verifying` (the store was unreachable,
/// or the API process died mid-request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyUpload {
    pub upload_id: UploadId,
}

impl VerifyUpload {
    pub const QUEUE: &'static str = "verify_upload";
}

/// Delete an object that left the bucket's books (aborted, expired, rejected, deleted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteObject {
    pub upload_id: UploadId,
    pub key: String,
}

impl DeleteObject {
    pub const QUEUE: &'static str = "delete_object";
}

/// Any job, as written to the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    ExpireSession(ExpireSession),
    VerifyUpload(VerifyUpload),
    DeleteObject(DeleteObject),
}

impl Job {
    /// The queue (and outbox `job` column) of this job.
    pub fn queue(&self) -> &'static str {
        match self {
            Job::ExpireSession(_) => ExpireSession::QUEUE,
            Job::VerifyUpload(_) => VerifyUpload::QUEUE,
            Job::DeleteObject(_) => DeleteObject::QUEUE,
        }
    }

    pub fn payload(&self) -> serde_json::Value {
        let encoded = match self {
            Job::ExpireSession(j) => serde_json::to_value(j),
            Job::VerifyUpload(j) => serde_json::to_value(j),
            Job::DeleteObject(j) => serde_json::to_value(j),
        };
        // Plain structs of ids and strings always encode.
        encoded.unwrap_or(serde_json::Value::Null)
    }

    /// Reads an outbox row back into a typed job.
    pub fn decode(queue: &str, payload: serde_json::Value) -> Result<Job, String> {
        let bad = |e: serde_json::Error| format!("{queue}: {e}");
        match queue {
            ExpireSession::QUEUE => serde_json::from_value(payload)
                .map(Job::ExpireSession)
                .map_err(bad),
            VerifyUpload::QUEUE => serde_json::from_value(payload)
                .map(Job::VerifyUpload)
                .map_err(bad),
            DeleteObject::QUEUE => serde_json::from_value(payload)
                .map(Job::DeleteObject)
                .map_err(bad),
            other => Err(format!("unknown job queue `{other}`")),
        }
    }
}

/// A job to enqueue once the transaction that wrote it commits.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub job: Job,
    pub run_at: DateTime<Utc>,
}

impl NewJob {
    pub fn now(job: Job) -> Self {
        Self {
            job,
            run_at: crate::clock::now(),
        }
    }

    pub fn at(job: Job, run_at: DateTime<Utc>) -> Self {
        Self { job, run_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_through_the_outbox_shape() {
        let id = UploadId::new();
        for job in [
            Job::ExpireSession(ExpireSession { upload_id: id }),
            Job::VerifyUpload(VerifyUpload { upload_id: id }),
            Job::DeleteObject(DeleteObject {
                upload_id: id,
                key: "k/1".into(),
            }),
        ] {
            assert_eq!(Job::decode(job.queue(), job.payload()), Ok(job));
        }
        assert!(Job::decode("nope", serde_json::json!({})).is_err());
    }
}
