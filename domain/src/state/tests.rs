//! The whole table, effects included, written out by hand: every (state, event) pair is
//! checked against it, so a change to an edge or to what it implies shows up here.

use chrono::TimeZone;

use super::*;
use Failure as F;
use ScanResult as R;
use UploadState as S;

/// Which deadline a plan sets, named instead of computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum D {
    Keep,
    Upload,
    Verify,
    Commit,
    /// The deadline the session already has (`PlanContext::deadline`), owed again.
    Current,
}

/// Which jobs a plan owes, named instead of timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum J {
    Expire,
    Verify,
    Cleanup,
    Scan,
}

const CLEAN: bool = true;
const KEEP: bool = false;

/// How a plan moves the quota counters, named instead of computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Q {
    Still,
    /// An upload in progress ends: the daily count goes; the reservation stays, held
    /// until the key is cleaned for good.
    Hold,
    /// Verified: reservation becomes stored bytes.
    Settle,
    /// A verified, uncommitted upload ends: stored bytes and daily count go; the bytes
    /// are held (reserved) until the key is cleaned for good.
    HoldUpload,
    /// A committed file is deleted: stored bytes go, held until the key is clean.
    Free,
}

/// One row of the table: (from, event) → (to, deadline, jobs, cleanup owed, quota).
type Edge = (S, Event, S, D, &'static [J], bool, Q);

/// Every legal edge; anything absent is illegal. One edge a line, so it reads as a table.
#[rustfmt::skip]
const LEGAL: &[Edge] = &[
    (S::Pending,   Event::Complete,                   S::Verifying, D::Verify, &[J::Expire, J::Verify], KEEP,  Q::Still),
    (S::Pending,   Event::Abort,                      S::Aborted,   D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Pending,   Event::Expire,                     S::Expired,   D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Verified,                   S::Uploaded,  D::Commit, &[J::Expire],            KEEP,  Q::Settle),
    (S::Verifying, Event::NotStored,                  S::Pending,   D::Upload, &[J::Expire],            KEEP,  Q::Still),
    (S::Verifying, Event::Reject(F::SizeMismatch),    S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Reject(F::ChecksumMismatch),S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Reject(F::TypeMismatch),    S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Reject(F::MalwareDetected), S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Reject(F::TooLargeToScan),  S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Abort,                      S::Aborted,   D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Verifying, Event::Expire,                     S::Expired,   D::Keep,   &[J::Cleanup],           CLEAN, Q::Hold),
    (S::Scanning,  Event::Scanned(R::Clean),          S::Uploaded,  D::Commit, &[J::Expire],            KEEP,  Q::Still),
    (S::Scanning,  Event::Scanned(R::Unscanned),      S::Uploaded,  D::Commit, &[J::Expire],            KEEP,  Q::Still),
    (S::Scanning,  Event::Rehashed,                   S::Uploaded,  D::Commit, &[J::Expire],            KEEP,  Q::Still),
    (S::Scanning,  Event::Reject(F::SizeMismatch),    S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Reject(F::ChecksumMismatch),S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Reject(F::TypeMismatch),    S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Reject(F::MalwareDetected), S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Reject(F::TooLargeToScan),  S::Rejected,  D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Abort,                      S::Aborted,   D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Scanning,  Event::Expire,                     S::Expired,   D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Uploaded,  Event::Commit,                     S::Committed, D::Keep,   &[],                     KEEP,  Q::Still),
    (S::Uploaded,  Event::Abort,                      S::Aborted,   D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Uploaded,  Event::Expire,                     S::Expired,   D::Keep,   &[J::Cleanup],           CLEAN, Q::HoldUpload),
    (S::Committed, Event::Delete,                     S::Deleted,   D::Keep,   &[J::Cleanup],           CLEAN, Q::Free),
];

fn ctx() -> PlanContext {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .expect("valid instant");
    PlanContext {
        now,
        upload_deadline: now + Duration::minutes(30),
        commit_ttl: Duration::hours(2),
        verify_ttl: Duration::hours(24),
        verify_delay: Duration::seconds(10),
        deadline: now + Duration::hours(20),
        scan: false,
        size: 4_000,
        verified_size: None,
        checksum_verified: false,
        sealed: false,
        held: 0,
    }
}

fn quota_of(q: Q, size: i64) -> (QuotaChange, Option<i64>) {
    match q {
        Q::Still => (QuotaChange::default(), None),
        Q::Hold => (
            QuotaChange {
                uploads_today: -1,
                bytes_today: -size,
                ..QuotaChange::default()
            },
            Some(size),
        ),
        Q::Settle => (
            QuotaChange {
                reserved_bytes: -size,
                stored_bytes: size,
                ..QuotaChange::default()
            },
            None,
        ),
        Q::HoldUpload => (
            QuotaChange {
                reserved_bytes: size,
                stored_bytes: -size,
                uploads_today: -1,
                bytes_today: -size,
            },
            Some(size),
        ),
        Q::Free => (
            QuotaChange {
                reserved_bytes: size,
                stored_bytes: -size,
                ..QuotaChange::default()
            },
            Some(size),
        ),
    }
}

fn deadline_of(d: D, ctx: &PlanContext) -> Option<DateTime<Utc>> {
    match d {
        D::Keep => None,
        D::Upload => Some(ctx.upload_deadline),
        D::Verify => Some(ctx.now + ctx.verify_ttl),
        D::Commit => Some(ctx.now + ctx.commit_ttl),
        D::Current => Some(ctx.deadline),
    }
}

fn jobs_of(jobs: &[J], deadline: Option<DateTime<Utc>>, ctx: &PlanContext) -> Vec<OwedJob> {
    jobs.iter()
        .map(|j| match j {
            J::Expire => OwedJob::ExpireAt(deadline.expect("an expiry needs a deadline")),
            J::Verify => OwedJob::VerifyAt(ctx.now + ctx.verify_delay),
            J::Cleanup => OwedJob::CleanupNow,
            J::Scan => OwedJob::ScanNow,
        })
        .collect()
}

#[test]
fn every_state_event_pair_matches_the_table_with_its_effects() {
    let ctx = ctx();
    let mut checked = 0;
    for from in S::ALL.into_iter() {
        for event in Event::ALL {
            let expected = LEGAL.iter().find(|(f, e, ..)| *f == from && *e == event);
            match (plan(from, event, &ctx), expected) {
                (Ok(plan), Some((_, _, to, deadline, jobs, cleanup, quota))) => {
                    let deadline = deadline_of(*deadline, &ctx);
                    assert_eq!(plan.to, *to, "{from:?} --{event:?}-->");
                    assert_eq!(plan.deadline, deadline, "{from:?} --{event:?}--> deadline");
                    let mut got = plan.jobs.clone();
                    let mut want = jobs_of(jobs, deadline, &ctx);
                    got.sort_by_key(|j| format!("{j:?}"));
                    want.sort_by_key(|j| format!("{j:?}"));
                    assert_eq!(got, want, "{from:?} --{event:?}--> jobs");
                    assert_eq!(
                        plan.owes_cleanup, *cleanup,
                        "{from:?} --{event:?}--> cleanup"
                    );
                    assert_eq!(
                        (plan.quota, plan.hold),
                        quota_of(*quota, ctx.size),
                        "{from:?} --{event:?}--> quota"
                    );
                    assert!(!plan.seals, "{from:?} --{event:?}--> an unsealed session");
                    let failure = match event {
                        Event::Reject(f) => Some(f),
                        _ => None,
                    };
                    assert_eq!(plan.failure, failure, "{from:?} --{event:?}--> failure");
                    assert!(!plan.reason.is_empty());
                }
                (Err(err), None) => assert_eq!(err, IllegalTransition { from, event }),
                (got, want) => panic!("{from:?} --{event:?}--> got {got:?}, want {want:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, S::ALL.len() * Event::ALL.len());
}

/// Unsealed sessions: only an edge into a terminal state owes a cleanup.
#[test]
fn every_edge_into_a_terminal_state_owes_a_cleanup_and_no_other_does() {
    let ctx = ctx();
    for from in S::ALL.into_iter() {
        for event in Event::ALL {
            if let Ok(plan) = plan(from, event, &ctx) {
                assert_eq!(
                    plan.owes_cleanup,
                    is_terminal(plan.to),
                    "{from:?} --{event:?}-->"
                );
                assert_eq!(
                    plan.jobs.contains(&OwedJob::CleanupNow),
                    plan.owes_cleanup,
                    "{from:?} --{event:?}-->"
                );
            }
        }
    }
}

/// A batch's count of unsettled sessions only falls: no edge leads from a settled state
/// back to pending, verifying or scanning, and every terminal state is settled.
#[test]
fn a_settled_session_never_unsettles() {
    let ctx = ctx();
    for from in S::ALL.into_iter().filter(|s| s.settles_batch()) {
        for event in Event::ALL {
            if let Ok(plan) = plan(from, event, &ctx) {
                assert!(
                    plan.to.settles_batch(),
                    "{from:?} --{event:?}--> {:?}",
                    plan.to
                );
            }
        }
    }
    for state in S::ALL.into_iter().filter(|s| is_terminal(*s)) {
        assert!(state.settles_batch(), "{state:?}");
    }
    assert!(!S::Pending.settles_batch() && S::Uploaded.settles_batch());
}

#[test]
fn terminal_states_have_no_way_out() {
    for from in S::ALL.into_iter().filter(|s| is_terminal(*s)) {
        for event in Event::ALL {
            assert!(
                plan(from, event, &ctx()).is_err(),
                "{from:?} left by {event:?}"
            );
        }
    }
}

#[test]
fn states_with_deadlines_are_exactly_the_live_ones() {
    for state in S::ALL.into_iter() {
        let live = !is_terminal(state) && state != S::Committed;
        assert_eq!(has_deadline(state), live, "{state:?}");
    }
}

/// A session that reserved its profile's limit (no size declared) settles to what was
/// stored: the rest of the reservation and of the day's bytes goes back, the size is
/// recorded.
#[test]
fn verification_settles_an_undeclared_size_to_the_stored_one() {
    let ctx = PlanContext {
        verified_size: Some(1_500),
        ..ctx()
    };
    let plan = plan(S::Verifying, Event::Verified, &ctx).expect("legal");
    assert_eq!(
        plan.quota,
        QuotaChange {
            reserved_bytes: -4_000,
            stored_bytes: 1_500,
            uploads_today: 0,
            bytes_today: -2_500,
        }
    );
    assert_eq!(plan.size, Some(1_500));
}

#[test]
fn illegal_transition_reads_as_a_sentence() {
    let err = plan(S::Committed, Event::Abort, &ctx()).expect_err("committed cannot be aborted");
    assert_eq!(err.to_string(), "cannot abort an upload that is committed");
}

/// Which edges webhooks announce, and as what; every other legal edge announces nothing.
#[test]
fn announcements_match_the_table() {
    use crate::Notice as N;
    let announced: &[(S, Event, N)] = &[
        (S::Pending, Event::Expire, N::Expired),
        (S::Verifying, Event::Verified, N::Uploaded),
        (S::Verifying, Event::Reject(F::SizeMismatch), N::Rejected),
        (
            S::Verifying,
            Event::Reject(F::ChecksumMismatch),
            N::Rejected,
        ),
        (S::Verifying, Event::Reject(F::TypeMismatch), N::Rejected),
        (S::Verifying, Event::Reject(F::MalwareDetected), N::Rejected),
        (S::Verifying, Event::Reject(F::TooLargeToScan), N::Rejected),
        (S::Verifying, Event::Expire, N::Expired),
        (S::Scanning, Event::Scanned(R::Clean), N::Uploaded),
        (S::Scanning, Event::Scanned(R::Unscanned), N::Uploaded),
        (S::Scanning, Event::Rehashed, N::Uploaded),
        (S::Scanning, Event::Reject(F::SizeMismatch), N::Rejected),
        (S::Scanning, Event::Reject(F::ChecksumMismatch), N::Rejected),
        (S::Scanning, Event::Reject(F::TypeMismatch), N::Rejected),
        (S::Scanning, Event::Reject(F::MalwareDetected), N::Rejected),
        (S::Scanning, Event::Reject(F::TooLargeToScan), N::Rejected),
        (S::Scanning, Event::Expire, N::Expired),
        (S::Uploaded, Event::Commit, N::Committed),
        (S::Uploaded, Event::Expire, N::Expired),
        (S::Committed, Event::Delete, N::FileDeleted),
    ];
    let ctx = ctx();
    for (from, event, ..) in LEGAL {
        let want = announced
            .iter()
            .find(|(f, e, _)| f == from && e == event)
            .map(|(_, _, n)| *n);
        let plan = plan(*from, *event, &ctx).expect("legal");
        assert_eq!(plan.notify, want, "{from:?} --{event:?}-->");
    }
}

/// A rewritable session whose bytes verification sealed: `Verified` owes the cleanup of
/// the upload key and keeps the reservation held beside the stored bytes; ending it later
/// changes no hold (the upload key is already held), while an unsealed one re-holds.
#[test]
fn sealing_holds_the_upload_key_until_it_is_clean() {
    let sealed = PlanContext {
        sealed: true,
        verified_size: Some(1_500),
        ..ctx()
    };
    let verified = plan(S::Verifying, Event::Verified, &sealed).expect("legal");
    assert!(verified.seals);
    assert!(verified.owes_cleanup);
    assert!(verified.jobs.contains(&OwedJob::CleanupNow));
    assert_eq!(verified.to, S::Uploaded);
    assert_eq!(
        (verified.quota, verified.hold),
        (
            QuotaChange {
                reserved_bytes: 0,
                stored_bytes: 1_500,
                uploads_today: 0,
                bytes_today: -2_500,
            },
            Some(4_000)
        )
    );
    let held = PlanContext {
        sealed: true,
        held: 4_000,
        size: 1_500,
        ..ctx()
    };
    for (from, event, daily) in [
        (S::Uploaded, Event::Abort, -1),
        (S::Uploaded, Event::Expire, -1),
        (S::Committed, Event::Delete, 0),
    ] {
        let ended = plan(from, event, &held).expect("legal");
        assert_eq!(ended.hold, None, "{from:?} --{event:?}-->");
        assert_eq!(ended.quota.reserved_bytes, 0, "{from:?} --{event:?}-->");
        assert_eq!(ended.quota.stored_bytes, -1_500, "{from:?} --{event:?}-->");
        assert_eq!(ended.quota.uploads_today, daily, "{from:?} --{event:?}-->");
        assert!(!ended.seals);
    }
}

/// A hold adds to what a session already holds.
#[test]
fn holds_add_up() {
    let ctx = PlanContext { held: 10, ..ctx() };
    let aborted = plan(S::Pending, Event::Abort, &ctx).expect("legal");
    assert_eq!(aborted.hold, Some(4_010));
}

/// A profile that scans: `Verified` settles the bytes (and seals them where the key stays
/// writable) but leads to `scanning`, owing the scan and an expiry at the deadline the
/// session already has, and announces nothing yet; the scanner's pass announces
/// `uploaded` and records what it said.
#[test]
fn a_scanning_profile_is_uploaded_only_after_the_scanner_passes() {
    use crate::Notice as N;
    let scanning = PlanContext {
        scan: true,
        ..ctx()
    };
    let verified = plan(S::Verifying, Event::Verified, &scanning).expect("legal");
    assert_eq!(verified.to, S::Scanning);
    let deadline = deadline_of(D::Current, &scanning);
    assert_eq!(verified.deadline, deadline);
    assert_eq!(
        verified.jobs,
        jobs_of(&[J::Expire, J::Scan], deadline, &scanning)
    );
    assert_eq!(verified.quota, quota_of(Q::Settle, scanning.size).0);
    assert_eq!(verified.notify, None);
    assert!(!verified.owes_cleanup);

    let sealed = PlanContext {
        sealed: true,
        ..scanning
    };
    let verified = plan(S::Verifying, Event::Verified, &sealed).expect("legal");
    assert_eq!(verified.to, S::Scanning);
    assert!(verified.seals, "the scanner reads the sealed bytes");
    assert!(verified.owes_cleanup, "the writable upload key goes");

    for read in [true, false] {
        let found = PlanContext {
            checksum_verified: read,
            ..ctx()
        };
        let rehashed = plan(S::Scanning, Event::Rehashed, &found).expect("legal");
        assert_eq!(
            rehashed.checksum_verified, read,
            "the read's finding, never more"
        );
    }
    for result in ScanResult::ALL {
        let passed = plan(S::Scanning, Event::Scanned(result), &ctx()).expect("legal");
        assert_eq!(passed.scan, Some(result));
        assert_eq!(passed.notify, Some(N::Uploaded));
    }
    for event in Event::ALL {
        if let Ok(plan) = plan(S::Verifying, event, &ctx()) {
            assert_eq!(
                plan.scan, None,
                "only the scanner records a scan: {event:?}"
            );
        }
    }
}
