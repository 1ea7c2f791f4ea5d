//! The upload session state machine: a pure transition table, no IO.
//!
//! Invariant: every change of a session's state is `next(from, event)`; the repository
//! refuses to write a state this function did not produce. The outer `match` has no `_`
//! arm so that a new state or event does not compile until its edges are decided.

use serde::{Deserialize, Serialize};
use sluice_entity::upload_session::UploadState;

/// What happened to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The client says the bytes are up; verification starts.
    Complete,
    /// The store holds an object that passed every check.
    Verified,
    /// The store holds nothing yet: the client completed too early.
    NotStored,
    /// The object failed a check (size, type, checksum).
    VerifyFailed,
    /// The client or application gave up.
    Abort,
    /// The application keeps the file.
    Commit,
    /// A deadline passed (upload TTL while pending, commit TTL while uploaded).
    Expire,
    /// The committed file was deleted.
    Delete,
}

impl Event {
    /// Every event, for exhaustive tests.
    pub const ALL: [Event; 8] = [
        Event::Complete,
        Event::Verified,
        Event::NotStored,
        Event::VerifyFailed,
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
            Event::NotStored => "not_stored",
            Event::VerifyFailed => "verify_failed",
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

/// The one function that knows the legal edges of the state machine.
pub fn next(from: UploadState, event: Event) -> Result<UploadState, IllegalTransition> {
    use Event as E;
    use UploadState as S;
    let to = match from {
        S::Pending => match event {
            E::Complete => Some(S::Verifying),
            E::Abort => Some(S::Aborted),
            E::Expire => Some(S::Expired),
            E::Verified | E::NotStored | E::VerifyFailed | E::Commit | E::Delete => None,
        },
        S::Verifying => match event {
            E::Verified => Some(S::Uploaded),
            E::NotStored => Some(S::Pending),
            E::VerifyFailed => Some(S::Rejected),
            E::Abort => Some(S::Aborted),
            E::Expire => Some(S::Expired),
            E::Complete | E::Commit | E::Delete => None,
        },
        S::Uploaded => match event {
            E::Commit => Some(S::Committed),
            E::Abort => Some(S::Aborted),
            E::Expire => Some(S::Expired),
            E::Complete | E::Verified | E::NotStored | E::VerifyFailed | E::Delete => None,
        },
        S::Committed => match event {
            E::Delete => Some(S::Deleted),
            E::Complete
            | E::Verified
            | E::NotStored
            | E::VerifyFailed
            | E::Abort
            | E::Commit
            | E::Expire => None,
        },
        // Terminal states never change again.
        S::Rejected | S::Aborted | S::Expired | S::Deleted => None,
    };
    to.ok_or(IllegalTransition { from, event })
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
        | UploadState::Uploaded
        | UploadState::Committed => false,
    }
}

/// True for states that carry a deadline the sweep must enforce.
pub fn has_deadline(state: UploadState) -> bool {
    matches!(
        state,
        UploadState::Pending | UploadState::Verifying | UploadState::Uploaded
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use UploadState as S;
    use sea_orm::Iterable;

    /// The whole table, written out by hand: (from, event) → to. Anything absent is illegal.
    const LEGAL: &[(S, Event, S)] = &[
        (S::Pending, Event::Complete, S::Verifying),
        (S::Pending, Event::Abort, S::Aborted),
        (S::Pending, Event::Expire, S::Expired),
        (S::Verifying, Event::Verified, S::Uploaded),
        (S::Verifying, Event::NotStored, S::Pending),
        (S::Verifying, Event::VerifyFailed, S::Rejected),
        (S::Verifying, Event::Abort, S::Aborted),
        (S::Verifying, Event::Expire, S::Expired),
        (S::Uploaded, Event::Commit, S::Committed),
        (S::Uploaded, Event::Abort, S::Aborted),
        (S::Uploaded, Event::Expire, S::Expired),
        (S::Committed, Event::Delete, S::Deleted),
    ];

    #[test]
    fn every_state_event_pair_matches_the_table() {
        let mut checked = 0;
        for from in S::iter() {
            for event in Event::ALL {
                let expected = LEGAL
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (next(from, event), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} --{event:?}-->"),
                    (Err(err), None) => assert_eq!(err, IllegalTransition { from, event }),
                    (got, want) => panic!("{from:?} --{event:?}--> got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 8 * 8);
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in S::iter().filter(|s| is_terminal(*s)) {
            for event in Event::ALL {
                assert!(next(from, event).is_err(), "{from:?} left by {event:?}");
            }
        }
    }

    #[test]
    fn illegal_transition_reads_as_a_sentence() {
        let err = next(S::Committed, Event::Abort).expect_err("committed cannot be aborted");
        assert_eq!(err.to_string(), "cannot abort an upload that is committed");
    }
}
