//! The upload session state machine: a pure transition table with its effects, no IO.
//!
//! Invariant: every change of a session's state is `plan(from, event, …)`, and the single
//! writer (`repo::transition`) applies the whole plan: the next state, its deadline, the
//! jobs it owes, the cleanup of the bucket it owes and the quota change, in one
//! transaction. Use cases never add effects by hand. The outer `match` has no `_` arm and
//! no `matches!` shortcut, so a new state or event does not compile until every edge and
//! its effects are decided.

use crate::notice::Notice;
use crate::time::add_chrono;
use crate::{Failure, ScanResult, UploadState};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The client says the bytes are up; verification starts.
    Complete,
    /// The store holds an object that passed every check.
    Verified,
    /// The malware scanner passed the stored bytes (read clean, or too large to read and
    /// passed unscanned as the profile allows).
    Scanned(ScanResult),
    /// A worker read every stored byte and found the declared SHA-256 (profiles with
    /// `rehash = true` and no malware scan).
    Rehashed,
    /// The store holds nothing yet: the client completed too early.
    NotStored,
    /// The object failed a check.
    Reject(Failure),
    /// The client or application gave up.
    Abort,
    /// The application keeps the file.
    Commit,
    /// The deadline of the current state passed.
    Expire,
    /// The committed file was deleted.
    Delete,
}

impl Event {
    /// Every event, for exhaustive tests (each rejection reason is its own event).
    pub const ALL: [Event; 15] = [
        Event::Complete,
        Event::Verified,
        Event::Rehashed,
        Event::Scanned(ScanResult::Clean),
        Event::Scanned(ScanResult::Unscanned),
        Event::NotStored,
        Event::Reject(Failure::SizeMismatch),
        Event::Reject(Failure::ChecksumMismatch),
        Event::Reject(Failure::TypeMismatch),
        Event::Reject(Failure::MalwareDetected),
        Event::Reject(Failure::TooLargeToScan),
        Event::Abort,
        Event::Commit,
        Event::Expire,
        Event::Delete,
    ];

    /// Stable snake_case name, used in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Complete => "complete",
            Event::Verified => "verified",
            Event::Scanned(_) => "scanned",
            Event::Rehashed => "rehashed",
            Event::NotStored => "not_stored",
            Event::Reject(_) => "reject",
            Event::Abort => "abort",
            Event::Commit => "commit",
            Event::Expire => "expire",
            Event::Delete => "delete",
        }
    }
}

/// `event` is not a legal edge out of `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an upload that is {}", event.as_str(), from.as_str())]
pub struct IllegalTransition {
    pub from: UploadState,
    pub event: Event,
}

/// The facts a plan depends on besides the edge: the time and the session's durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanContext {
    pub now: DateTime<Utc>,
    /// When the `pending` state ends (creation plus the upload TTL).
    pub upload_deadline: DateTime<Utc>,
    /// How long an uploaded session waits for its commit.
    pub commit_ttl: Duration,
    /// How long a session may stay `verifying` while the store cannot be asked.
    pub verify_ttl: Duration,
    /// The deadline of the session's current state (`Verified` into `scanning` keeps the
    /// verification deadline: a scanner that stays away never passes a file).
    pub deadline: DateTime<Utc>,
    /// The profile has a worker read the stored bytes (a malware scan, a re-hash of the
    /// declared SHA-256, or both) before they are `uploaded`.
    pub scan: bool,
    /// When the backstop verification job of a completion runs.
    pub verify_delay: Duration,
    /// The session's size in bytes: declared, or (sizes not declared) the reservation.
    pub size: i64,
    /// What verification found, for `Verified` (sessions whose size was not declared
    /// settle to it).
    pub verified_size: Option<i64>,
    /// Whether verification found the store reporting the declared SHA-256, for `Verified`.
    pub checksum_verified: bool,
    /// Whether the session's verified bytes are kept under a sealed key of their own
    /// (for `Verified`: verification has just sealed them), apart from the upload key
    /// whose URLs may still write it.
    pub sealed: bool,
    /// Bytes the session holds now for what may still land under its upload key.
    pub held: i64,
}

/// A job a transition owes, to be written beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwedJob {
    /// Expire the session at its new deadline (`ExpireSession`).
    ExpireAt(DateTime<Utc>),
    /// Verify the object at this time if the request that completed it could not.
    VerifyAt(DateTime<Utc>),
    /// Clean the session's key in the bucket now (`CleanupSession`).
    CleanupNow,
    /// Scan the stored bytes for malware now (`ScanUpload`).
    ScanNow,
}

/// Change of the owner's quota counters. Creation reserves (+1 upload today, +size
/// today, +size reserved) inside the create transaction; transitions move the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuotaChange {
    /// Bytes reserved by a live upload, and held for what may still land under an ended
    /// session's key: − when the key is cleaned for good (or, unsealed, when it settles).
    pub reserved_bytes: i64,
    /// Bytes the owner stores: + when verified, − when removed.
    pub stored_bytes: i64,
    /// Uploads counted on the creation day: − when the upload never becomes a file.
    pub uploads_today: i64,
    /// Bytes counted on the creation day: − when the upload never becomes a file.
    pub bytes_today: i64,
}

/// Everything one transition implies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub to: UploadState,
    /// The new deadline of the target state; `None` keeps the current one (the target
    /// has no deadline of its own, or keeps the one it has).
    pub deadline: Option<DateTime<Utc>>,
    pub jobs: Vec<OwedJob>,
    /// The bucket is owed a cleanup of the session's key from now on.
    pub owes_cleanup: bool,
    /// Why, in words, for the audit trail.
    pub reason: &'static str,
    pub quota: QuotaChange,
    /// The failed check, when the target is `rejected`.
    pub failure: Option<Failure>,
    /// What webhooks announce of this transition, if anything.
    pub notify: Option<Notice>,
    /// The size to record, when verification found another than the one reserved.
    pub size: Option<i64>,
    /// Record that the store vouched for the declared SHA-256.
    pub checksum_verified: bool,
    /// Record what the malware scanner said (`Scanned`).
    pub scan: Option<ScanResult>,
    /// Record the sealed key as where the verified bytes are (`Verified` of a sealed
    /// session).
    pub seals: bool,
    /// The session's new `held_bytes`: what may still land under its upload key stays
    /// reserved (the quota change above leaves it in `reserved_bytes`) until the key is
    /// cleaned for good. `None` keeps the current value.
    pub hold: Option<i64>,
}

impl Plan {
    fn to(to: UploadState, reason: &'static str) -> Plan {
        Plan {
            to,
            deadline: None,
            jobs: Vec::new(),
            owes_cleanup: false,
            reason,
            quota: QuotaChange::default(),
            failure: None,
            notify: None,
            size: None,
            checksum_verified: false,
            scan: None,
            seals: false,
            hold: None,
        }
    }

    fn announces(mut self, notice: Notice) -> Plan {
        self.notify = Some(notice);
        self
    }

    /// The target state has a new deadline, enforced by an `ExpireSession` job at it.
    fn deadline(mut self, at: DateTime<Utc>) -> Plan {
        self.deadline = Some(at);
        self.jobs.push(OwedJob::ExpireAt(at));
        self
    }

    /// The session leaves the books: its key must be cleaned, now and after its last URL.
    fn cleanup(mut self) -> Plan {
        self.owes_cleanup = true;
        self.jobs.push(OwedJob::CleanupNow);
        self
    }

    fn job(mut self, job: OwedJob) -> Plan {
        self.jobs.push(job);
        self
    }

    fn checksum_verified(mut self, verified: bool) -> Plan {
        self.checksum_verified = verified;
        self
    }

    fn failure(mut self, failure: Failure) -> Plan {
        self.failure = Some(failure);
        self
    }

    /// An upload still in progress ends: its daily count goes, and its reservation is
    /// held, not released: its URLs can still write the key until they expire, so the
    /// bytes count until the key is cleaned for good (`repo::record_cleanups`).
    fn ends_in_progress(mut self, ctx: &PlanContext) -> Plan {
        self.quota = QuotaChange {
            uploads_today: -1,
            bytes_today: -ctx.size,
            ..self.quota
        };
        self.hold = Some(ctx.held.saturating_add(ctx.size));
        self
    }

    /// Verified: the reservation (`size` bytes) becomes the `actual` stored bytes; a
    /// session that reserved more than it holds gives the difference back. A sealed
    /// session keeps its reservation held instead: its upload key, whose URLs may still
    /// write it, is cleaned separately from the sealed bytes.
    fn settles(mut self, ctx: &PlanContext) -> Plan {
        let reserved = ctx.size;
        let actual = ctx.verified_size.unwrap_or(reserved);
        let released = if ctx.sealed { 0 } else { -reserved };
        self.quota = QuotaChange {
            reserved_bytes: released,
            stored_bytes: actual,
            bytes_today: actual - reserved,
            ..self.quota
        };
        if ctx.sealed {
            self.seals = true;
            self.hold = Some(ctx.held.saturating_add(reserved));
        }
        // Verification records the size: the same as declared, or found for sessions that
        // declared none.
        self.size = Some(actual);
        self
    }

    /// Stored bytes leave the books (`daily`: the day's count goes too, for an upload
    /// never committed). Unless they are sealed apart from the upload key, deleting
    /// them frees the key for a URL that is still valid, so they stay held until the key
    /// is cleaned for good.
    fn frees_stored(mut self, ctx: &PlanContext, daily: bool) -> Plan {
        let size = ctx.size;
        self.quota.stored_bytes = -size;
        if daily {
            self.quota.uploads_today = -1;
            self.quota.bytes_today = -size;
        }
        if !ctx.sealed {
            self.quota.reserved_bytes = size;
            self.hold = Some(ctx.held.saturating_add(size));
        }
        self
    }
}

/// The one function that knows the legal edges of the state machine and their effects.
pub fn plan(from: UploadState, event: Event, ctx: &PlanContext) -> Result<Plan, IllegalTransition> {
    use Event as E;
    use UploadState as S;
    let illegal = IllegalTransition { from, event };
    let plan = match from {
        S::Pending => match event {
            E::Complete => Plan::to(S::Verifying, "the client completed the upload")
                .deadline(add_chrono(ctx.now, ctx.verify_ttl))
                .job(OwedJob::VerifyAt(add_chrono(ctx.now, ctx.verify_delay))),
            E::Abort => Plan::to(S::Aborted, "the client aborted the upload")
                .cleanup()
                .ends_in_progress(ctx),
            E::Expire => Plan::to(S::Expired, "the upload deadline passed")
                .cleanup()
                .ends_in_progress(ctx)
                .announces(Notice::Expired),
            E::Verified
            | E::Scanned(_)
            | E::Rehashed
            | E::NotStored
            | E::Reject(_)
            | E::Commit
            | E::Delete => {
                return Err(illegal);
            }
        },
        S::Verifying => match event {
            // The profile scans: the checks passed and the bytes settle (and are sealed
            // where the key stays writable) now, so the scanner reads exactly the bytes
            // the file will name; `uploaded` waits for its verdict, within the
            // verification deadline.
            E::Verified if ctx.scan => {
                let plan = Plan::to(
                    S::Scanning,
                    "the stored object passed every check; the malware scanner reads it next",
                )
                .deadline(ctx.deadline)
                .settles(ctx)
                .checksum_verified(ctx.checksum_verified)
                .job(OwedJob::ScanNow);
                // A sealed session's upload key, which its URLs may still write, goes.
                if ctx.sealed { plan.cleanup() } else { plan }
            }
            E::Verified if ctx.sealed => Plan::to(
                S::Uploaded,
                "the stored object passed every check and was sealed under a key no URL can write",
            )
            .deadline(add_chrono(ctx.now, ctx.commit_ttl))
            .settles(ctx)
            .checksum_verified(ctx.checksum_verified)
            // The upload key, which its URLs may still write, goes; the sealed bytes stay.
            .cleanup()
            .announces(Notice::Uploaded),
            E::Verified => Plan::to(S::Uploaded, "the stored object passed every check")
                .deadline(add_chrono(ctx.now, ctx.commit_ttl))
                .settles(ctx)
                .checksum_verified(ctx.checksum_verified)
                .announces(Notice::Uploaded),
            E::NotStored => {
                Plan::to(S::Pending, "nothing was stored yet").deadline(ctx.upload_deadline)
            }
            E::Reject(failure) => Plan::to(S::Rejected, "the stored object failed a check")
                .failure(failure)
                .cleanup()
                .ends_in_progress(ctx)
                .announces(Notice::Rejected),
            E::Abort => Plan::to(S::Aborted, "the client aborted the upload")
                .cleanup()
                .ends_in_progress(ctx),
            E::Expire => Plan::to(
                S::Expired,
                "the object could not be verified before the verification deadline",
            )
            .cleanup()
            .ends_in_progress(ctx)
            .announces(Notice::Expired),
            E::Scanned(_) | E::Rehashed | E::Complete | E::Commit | E::Delete => {
                return Err(illegal);
            }
        },
        // The bytes are settled (counted as stored) while the scanner reads them, so every
        // way out but a pass frees them like an uploaded file's.
        S::Scanning => match event {
            E::Scanned(result) => {
                let reason = match result {
                    ScanResult::Clean => "the malware scanner found nothing",
                    ScanResult::Unscanned => {
                        "the object is larger than the scanner reads; the profile passes it unscanned"
                    }
                };
                let mut plan = Plan::to(S::Uploaded, reason)
                    .deadline(add_chrono(ctx.now, ctx.commit_ttl))
                    .checksum_verified(ctx.checksum_verified)
                    .announces(Notice::Uploaded);
                plan.scan = Some(result);
                plan
            }
            E::Rehashed => Plan::to(
                S::Uploaded,
                "a worker read every stored byte and found the declared SHA-256",
            )
            .deadline(add_chrono(ctx.now, ctx.commit_ttl))
            // What the read found: a worker that read nothing vouches for nothing.
            .checksum_verified(ctx.checksum_verified)
            .announces(Notice::Uploaded),
            E::Reject(failure) => Plan::to(S::Rejected, "the malware scanner refused the object")
                .failure(failure)
                .cleanup()
                .frees_stored(ctx, true)
                .announces(Notice::Rejected),
            E::Abort => Plan::to(S::Aborted, "the client aborted the upload")
                .cleanup()
                .frees_stored(ctx, true),
            E::Expire => Plan::to(
                S::Expired,
                "the malware scanner could not read the object before the verification deadline",
            )
            .cleanup()
            .frees_stored(ctx, true)
            .announces(Notice::Expired),
            E::Complete | E::Verified | E::NotStored | E::Commit | E::Delete => {
                return Err(illegal);
            }
        },
        S::Uploaded => match event {
            E::Commit => Plan::to(S::Committed, "the application committed the file")
                .announces(Notice::Committed),
            E::Abort => Plan::to(S::Aborted, "the client aborted the upload")
                .cleanup()
                .frees_stored(ctx, true),
            E::Expire => Plan::to(S::Expired, "the commit deadline passed")
                .cleanup()
                .frees_stored(ctx, true)
                .announces(Notice::Expired),
            E::Complete
            | E::Verified
            | E::Scanned(_)
            | E::Rehashed
            | E::NotStored
            | E::Reject(_)
            | E::Delete => {
                return Err(illegal);
            }
        },
        S::Committed => match event {
            E::Delete => Plan::to(S::Deleted, "the file was deleted")
                .cleanup()
                .frees_stored(ctx, false)
                .announces(Notice::FileDeleted),
            E::Complete
            | E::Verified
            | E::Scanned(_)
            | E::Rehashed
            | E::NotStored
            | E::Reject(_)
            | E::Abort
            | E::Commit
            | E::Expire => return Err(illegal),
        },
        // Terminal states never change again.
        S::Rejected | S::Aborted | S::Expired | S::Deleted => return Err(illegal),
    };
    Ok(plan)
}

/// True for states that never change again (`committed` can still become `deleted`).
pub fn is_terminal(state: UploadState) -> bool {
    match state {
        UploadState::Rejected
        | UploadState::Aborted
        | UploadState::Expired
        | UploadState::Deleted => true,
        UploadState::Pending
        | UploadState::Verifying
        | UploadState::Scanning
        | UploadState::Uploaded
        | UploadState::Committed => false,
    }
}

/// True for states whose deadline the `ExpireSession` job and the sweep enforce.
pub fn has_deadline(state: UploadState) -> bool {
    match state {
        UploadState::Pending
        | UploadState::Verifying
        | UploadState::Scanning
        | UploadState::Uploaded => true,
        UploadState::Committed
        | UploadState::Rejected
        | UploadState::Aborted
        | UploadState::Expired
        | UploadState::Deleted => false,
    }
}

#[cfg(test)]
mod tests;
