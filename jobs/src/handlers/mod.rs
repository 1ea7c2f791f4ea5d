//! apalis handlers, one file per job: each calls one core use case and turns its outcome
//! into the worker's verdict with [`verdict`], the only place that decides retries.
//!
//! Invariants: handlers are idempotent (delivery is at least once, and the use cases treat
//! a session already past the expected state as done); a failure is logged once, here.

pub mod delete_object;
pub mod expire_session;
pub mod sweep;
pub mod verify_upload;

use apalis::prelude::{AbortError, Attempt, BoxDynError};
use sluice_core::{CoreError, CoreResult};

/// Runs of one job before it is given up, on every backend. SQLite enforces it through the
/// task's `max_attempts` (set when pushing); Redis ignores that field, so `verdict` enforces
/// it too by aborting the last attempt.
pub(crate) const MAX_ATTEMPTS: usize = 10;

/// The worker's verdict on a use case's outcome: `Ok`, a plain error (apalis retries it
/// with backoff) for a transient failure with attempts left, or an `AbortError` (no retry on
/// any backend) for a permanent failure or the last attempt.
pub(crate) fn verdict(
    queue: &'static str,
    attempt: &Attempt,
    outcome: CoreResult<()>,
) -> Result<(), BoxDynError> {
    let error = match outcome {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    let run = attempt.current();
    match decide(&error, run) {
        Decision::Retry => {
            tracing::warn!(queue, attempt = run, code = error.code(), error = %error, "job failed; will retry");
            Err(error.into())
        }
        Decision::Abort => {
            tracing::error!(queue, attempt = run, code = error.code(), error = %error, "job failed; giving up");
            Err(AbortError::new(error).into())
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Retry,
    Abort,
}

fn decide(error: &CoreError, attempt: usize) -> Decision {
    if error.is_transient() && attempt < MAX_ATTEMPTS {
        Decision::Retry
    } else {
        Decision::Abort
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_retry_until_the_last_attempt() {
        let error = CoreError::Storage("down".into());
        assert_eq!(decide(&error, 1), Decision::Retry);
        assert_eq!(decide(&error, MAX_ATTEMPTS - 1), Decision::Retry);
        assert_eq!(decide(&error, MAX_ATTEMPTS), Decision::Abort);
    }

    #[test]
    fn permanent_errors_abort_at_once() {
        assert_eq!(decide(&CoreError::NotFound("upload"), 1), Decision::Abort);
        assert_eq!(
            decide(&CoreError::Internal("bug".into()), 1),
            Decision::Abort
        );
    }

    #[test]
    fn aborts_are_recognised_by_apalis() {
        let attempt = Attempt::new_with_value(1);
        let error = verdict("q", &attempt, Err(CoreError::NotFound("upload"))).expect_err("aborts");
        assert!(error.downcast_ref::<AbortError>().is_some());
        let error = verdict("q", &attempt, Err(CoreError::Conflict)).expect_err("retries");
        assert!(error.downcast_ref::<AbortError>().is_none());
    }
}
