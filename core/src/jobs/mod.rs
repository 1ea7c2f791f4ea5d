//! Background jobs, declared once each. A kind is a payload type implementing [`JobKind`]
//! (its name, which is also its queue, its default retry schedule and the session it is
//! about) in a file of its own, its handler ([`RunJob`]) beside the use case it runs, plus
//! one line in `declare_jobs!` below;
//! the `Job` enum, decoding, the list of kinds (from which the queues, workers and
//! backlog counts are built) follow from that line.
//!
//! Invariants: payloads carry ids, not snapshots; a new field gets `#[serde(default)]`; a
//! field or kind is never renamed while old jobs may be stored; handlers are idempotent
//! (delivery is at least once, and a session already past the expected state means done).

mod cleanup_session;
mod deliver_webhook;
mod execute;
mod expire_session;
mod retry;
mod scan_upload;
mod verify_upload;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use cleanup_session::CleanupSession;
pub use deliver_webhook::DeliverWebhook;
pub use execute::{Dispatch, Executed, execute};
pub use expire_session::ExpireSession;
pub use retry::{Retry, RetrySchedule, RetryTable};
pub use scan_upload::ScanUpload;
pub use verify_upload::VerifyUpload;

use crate::ids::UploadId;
use crate::{Core, CoreResult};

/// One kind of job: its declaration.
pub trait JobKind: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The kind's stable name: the job table's `job` column and the queue's name.
    const KIND: &'static str;
    /// The default retry schedule (`queue.retry.<kind>` replaces its delays).
    const RETRY: Retry;
    /// Whether the job is owed by the state its session is in, and so is moot once the
    /// session moves on: every transition deletes the session's waiting jobs of such kinds
    /// (the plan owes the new state's own).
    const ENDS_WITH_STATE: bool;
    /// The session this job is about, for the sweep's lost-job checks.
    fn upload_id(&self) -> Option<UploadId>;
}

/// One kind of job: its handler, implemented beside the use case it runs (`cleanup`,
/// `upload::verify`, `upload::expire`, `webhooks::deliver`), so the declarations here never
/// import the use cases that owe them.
pub trait RunJob: JobKind {
    /// Does the work. An error is retried according to the schedule; `Ran::WaitFor` runs
    /// it again later without counting an attempt; `Ran::Parked` waits for another job
    /// to wake it.
    fn run(self, core: &Core) -> impl Future<Output = CoreResult<Ran>> + Send;
    /// Whether a job that answered `Ran::Parked` still waits. Asked once more after the
    /// park is stored, because what it waits for may have ended (and tried to wake it)
    /// between the job's own look and the park: that wake-up would otherwise be lost.
    fn still_parked(&self, _core: &Core) -> impl Future<Output = CoreResult<bool>> + Send {
        async { Ok(false) }
    }
}

/// How a job's run ended, short of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    /// The job is done; its row goes.
    Done,
    /// Not yet: run again after this long, without counting a failed attempt.
    WaitFor(std::time::Duration),
    /// Waits for another job, which wakes this one when it ends (see
    /// `JobKind::still_parked`); runs again after this long at the latest, a backstop that
    /// costs nothing meanwhile.
    Parked(std::time::Duration),
}

/// A kind as the runtime sees it.
#[derive(Clone, Copy, Debug)]
pub struct KindInfo {
    pub name: &'static str,
    pub retry: Retry,
    pub ends_with_state: bool,
}

/// Why a stored job could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("no job kind `{0}` in this version")]
    UnknownKind(String),
    #[error("the payload of `{kind}` does not decode: {reason}")]
    Payload { kind: String, reason: String },
}

macro_rules! declare_jobs {
    ($($kind:ident),* $(,)?) => {
        /// Any job, as written to the job table.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Job {
            $($kind($kind)),*
        }

        impl Job {
            /// Every kind this version knows.
            pub const KINDS: &'static [KindInfo] = &[
                $(KindInfo {
                    name: <$kind as JobKind>::KIND,
                    retry: <$kind as JobKind>::RETRY,
                    ends_with_state: <$kind as JobKind>::ENDS_WITH_STATE,
                }),*
            ];

            /// The kind's name (and queue).
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Job::$kind(_) => <$kind as JobKind>::KIND),*
                }
            }

            /// The payload as stored.
            pub fn payload(&self) -> serde_json::Value {
                let encoded = match self {
                    $(Job::$kind(job) => serde_json::to_value(job)),*
                };
                // Plain structs of ids and strings always encode.
                encoded.unwrap_or(serde_json::Value::Null)
            }

            /// The session the job is about, if any.
            pub fn upload_id(&self) -> Option<UploadId> {
                match self {
                    $(Job::$kind(job) => job.upload_id()),*
                }
            }

            /// Reads a stored job back.
            pub fn decode(kind: &str, payload: serde_json::Value) -> Result<Job, DecodeError> {
                $(
                    if kind == <$kind as JobKind>::KIND {
                        return serde_json::from_value(payload).map(Job::$kind).map_err(|e| {
                            DecodeError::Payload { kind: kind.to_owned(), reason: e.to_string() }
                        });
                    }
                )*
                Err(DecodeError::UnknownKind(kind.to_owned()))
            }

            /// Runs the job's handler.
            pub(crate) async fn run(self, core: &Core) -> CoreResult<Ran> {
                match self {
                    $(Job::$kind(job) => job.run(core).await),*
                }
            }

            /// Whether a parked job still waits.
            pub(crate) async fn still_parked(&self, core: &Core) -> CoreResult<bool> {
                match self {
                    $(Job::$kind(job) => job.still_parked(core).await),*
                }
            }
        }

        $(
            impl From<$kind> for Job {
                fn from(job: $kind) -> Job {
                    Job::$kind(job)
                }
            }
        )*
    };
}

declare_jobs!(
    ExpireSession,
    VerifyUpload,
    ScanUpload,
    CleanupSession,
    DeliverWebhook
);

impl Job {
    /// The declaration of the kind called `name`.
    pub fn kind_info(name: &str) -> Option<&'static KindInfo> {
        Job::KINDS.iter().find(|k| k.name == name)
    }
}

/// A job to store once the transaction that wrote it commits.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub job: Job,
    pub run_at: DateTime<Utc>,
}

impl NewJob {
    pub fn at(job: impl Into<Job>, run_at: DateTime<Utc>) -> Self {
        Self {
            job: job.into(),
            run_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_through_the_job_table_shape() {
        let id = UploadId::new();
        for job in [
            Job::from(ExpireSession { upload_id: id }),
            Job::from(VerifyUpload { upload_id: id }),
            Job::from(CleanupSession { upload_id: id }),
        ] {
            assert_eq!(job.upload_id(), Some(id));
            assert_eq!(Job::decode(job.kind(), job.payload()), Ok(job));
        }
    }

    #[test]
    fn unknown_kinds_and_bad_payloads_are_told_apart() {
        assert_eq!(
            Job::decode("from_the_future", serde_json::json!({})),
            Err(DecodeError::UnknownKind("from_the_future".into()))
        );
        assert!(matches!(
            Job::decode(ExpireSession::KIND, serde_json::json!({"upload_id": 7})),
            Err(DecodeError::Payload { .. })
        ));
    }

    #[test]
    fn kind_names_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for kind in Job::KINDS {
            assert!(seen.insert(kind.name), "{} declared twice", kind.name);
            assert!(
                kind.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
            assert!(
                !kind.retry.delays.is_empty(),
                "{} has no retry delays",
                kind.name
            );
        }
    }
}
