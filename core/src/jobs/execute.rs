//! Running one dispatched job: the part of the job runtime that is domain, not transport.
//! The queue delivers a [`Dispatch`] (a row id and the token of the dispatch that sent
//! it); this module reads the row, runs its job and records the outcome in the job table.
//!
//! Invariants: a message whose token is not the row's current one is stale (the row was
//! re-dispatched, or already ran) and does nothing; a job row is deleted only after its
//! job succeeded or was given up, and otherwise rescheduled to its next retry, so a
//! crash anywhere re-runs the job (once its dispatch lease expires) instead of losing it.

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::{Job, Ran};
use crate::outbox;
use crate::{Core, CoreResult};

/// The message the queue carries: which row to run, and which dispatch of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatch {
    pub row: i64,
    pub token: String,
}

/// How running a dispatch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Executed {
    /// The job succeeded; its row is gone.
    Done,
    /// The job failed and runs again at this time.
    Retrying(chrono::DateTime<chrono::Utc>),
    /// The job failed for good; its row is gone.
    GaveUp,
    /// Not the row's current dispatch (or no such row): nothing done.
    Stale,
    /// The row cannot be read by this version; it waits for one that can.
    Parked,
}

/// Runs the job of `dispatch` if it is still current.
pub async fn execute(core: &Core, dispatch: &Dispatch) -> CoreResult<Executed> {
    let Some(row) = outbox::find(&core.db, dispatch.row).await? else {
        return Ok(Executed::Stale);
    };
    if row.dispatch_token.as_deref() != Some(dispatch.token.as_str()) {
        return Ok(Executed::Stale);
    }
    let job = match Job::decode(&row.job, row.payload.clone()) {
        Ok(job) => job,
        Err(reason) => {
            outbox::park(&core.db, &row, core.now(), &reason.to_string()).await?;
            return Ok(Executed::Parked);
        }
    };
    let kind = job.kind();
    let started = std::time::Instant::now();
    // With telemetry on, the job's span continues the trace of whatever appended it (the
    // row keeps it); off, no span is made, as for transactions and store calls.
    let span = if crate::telemetry::enabled() {
        let span = tracing::info_span!("job", kind, row = row.id, attempt = row.attempts);
        crate::telemetry::adopt(&span, row.trace_parent.as_deref());
        span
    } else {
        tracing::Span::none()
    };
    let outcome = job.clone().run(core).instrument(span).await;
    let elapsed = started.elapsed();
    let elapsed_ms = elapsed.as_millis();
    core.metrics
        .job_seconds
        .with_label_values(&[kind])
        .observe(elapsed.as_secs_f64());
    let counted = |label: &str| {
        core.metrics
            .job_runs
            .with_label_values(&[kind, label])
            .inc()
    };
    let error = match outcome {
        Ok(Ran::Done) => {
            counted("done");
            outbox::finish(&core.db, row.id).await?;
            tracing::debug!(kind, row = row.id, elapsed_ms, "job done");
            return Ok(Executed::Done);
        }
        Ok(Ran::WaitFor(wait)) => {
            counted("waiting");
            let at = crate::clock::add(core.now(), wait);
            outbox::postpone(&core.db, &row, &dispatch.token, at).await?;
            return Ok(Executed::Retrying(at));
        }
        Ok(Ran::Parked(backstop)) => {
            counted("parked");
            let at = crate::clock::add(core.now(), backstop);
            outbox::postpone(&core.db, &row, &dispatch.token, at).await?;
            // Only now is the park visible to whoever would wake it: look once more.
            if !job.still_parked(core).await? {
                outbox::wake(&core.db, &[row.id], core.now())
                    .await?
                    .wake(&core.relay);
            }
            return Ok(Executed::Retrying(at));
        }
        Err(error) => error,
    };
    let failures = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
    let delay = core
        .retry
        .schedule(kind)
        .and_then(|s| s.delay_after(failures, error.is_transient()));
    match delay {
        Some(delay) => {
            counted("retry");
            let at = crate::clock::add(core.now(), delay);
            let text = error.to_string();
            outbox::reschedule(&core.db, &row, &dispatch.token, at, &text).await?;
            tracing::warn!(kind, row = row.id, failures, code = %error.code(), error = %text, retry_at = %at, "job failed; will retry");
            Ok(Executed::Retrying(at))
        }
        None => {
            counted("gave_up");
            outbox::finish(&core.db, row.id).await?;
            tracing::error!(kind, row = row.id, failures, code = %error.code(), error = %error, "job failed; giving up");
            Ok(Executed::GaveUp)
        }
    }
}
