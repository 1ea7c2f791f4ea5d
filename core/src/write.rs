//! `Write`: the transaction of a state change, and the only place that wakes the relay
//! for the jobs it wrote.
//!
//! Invariants:
//! - every state change that owes jobs runs in a `Write` (the single writer's functions
//!   take one, never a bare connection), and its jobs are appended through it, so the one
//!   who commits them is the one who wakes the relay: no call placed by hand;
//! - the relay is woken after the commit, never before: a relay woken early reads nothing,
//!   and the jobs would wait for its timer (`queue.relay_interval`);
//! - it is woken only when a job due now was written (or a parked one made due): a job
//!   due later is found by the relay's own schedule of the next due row;
//! - a `Write` dropped without `commit` rolls everything back, wakes nobody; after an
//!   error inside it, it is dropped (the retry loops begin a new one).

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};

use crate::Core;
use crate::error::CoreResult;
use crate::jobs::NewJob;
use crate::outbox::{self, Due, RelaySignal};

/// An open transaction that may owe jobs; see the module.
pub struct Write {
    txn: DatabaseTransaction,
    relay: RelaySignal,
    due: AtomicBool,
    /// The transaction's span while telemetry is on (from `begin` until the `Write` is
    /// committed or dropped); `Span::none()` otherwise.
    _span: tracing::Span,
}

impl Write {
    /// Begins a transaction on the core's database.
    pub async fn begin(core: &Core) -> CoreResult<Write> {
        let span = if crate::telemetry::enabled() {
            tracing::info_span!("db.transaction")
        } else {
            tracing::Span::none()
        };
        Ok(Write {
            txn: core.db.begin().await?,
            relay: core.relay.clone(),
            due: AtomicBool::new(false),
            _span: span,
        })
    }

    /// The transaction, for the statements of the change.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Appends `jobs`, remembering whether one is due by `now`.
    pub async fn append(&self, now: DateTime<Utc>, jobs: &[NewJob]) -> CoreResult<()> {
        let due = outbox::append(&self.txn, now, jobs).await?;
        self.owe(due);
        Ok(())
    }

    /// Records what a write to the job table left due (parked rows made due, say).
    pub fn owe(&self, due: Due) {
        if due.is_now() {
            self.due.store(true, Ordering::Relaxed);
        }
    }

    /// Commits, then wakes the relay if a job due now was written.
    pub async fn commit(self) -> CoreResult<()> {
        self.txn.commit().await?;
        let due = if self.due.into_inner() {
            Due::NOW
        } else {
            Due::LATER
        };
        due.wake(&self.relay);
        Ok(())
    }
}
