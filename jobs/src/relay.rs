//! The outbox relay, an actix actor: moves the jobs that use cases wrote to the outbox (in
//! the transaction of their state change) into the job queue, then deletes those rows.
//!
//! Invariants:
//! - a row leaves the outbox only after its job is queued (or if it can never be decoded),
//!   so a crash or a queue outage delays jobs but never loses them;
//! - a row queued twice (the delete failed after the push) is queued once: its idempotency
//!   key is derived from the row;
//! - passes never overlap; a wake during a pass buys exactly one more pass after it;
//! - rows are moved in id order, and a push failure ends the pass, leaving that row and all
//!   later ones for the next pass (the timer, `queue.relay_interval`).
//!
//! Wakes come from `core.relay` (signalled by use cases after each commit), from the timer
//! and from [`Drain`], which also reports the outcome of a full pass. The actor needs an
//! actix `System` (the binary runs under `actix_rt::System`; tests under `#[actix_rt::test]`)
//! and stops with it.

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sluice_core::Core;
use sluice_core::outbox;
use tokio::sync::oneshot;

use crate::queues::Queues;

/// Rows read per query; a pass reads batches until the outbox is empty.
const BATCH: u64 = 100;

/// The timer's floor, so a zero `relay_interval` cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Starts the relay on the current actix arbiter. Call it inside an actix `System`.
pub fn start_relay(core: Core, queues: Queues) -> Addr<Relay> {
    Relay {
        core,
        queues,
        running: false,
        again: false,
        last_failed: false,
        drains: Vec::new(),
    }
    .start()
}

/// The relay actor; see the module documentation.
pub struct Relay {
    core: Core,
    queues: Queues,
    /// A pass is in flight.
    running: bool,
    /// Something asked for a pass while one was in flight.
    again: bool,
    /// The last pass ended on an error; only the timer or a `Drain` retries it.
    last_failed: bool,
    /// `Drain` callers waiting for the next pass to start and finish.
    drains: Vec<oneshot::Sender<Result<usize, String>>>,
}

/// Asks for a pass without waiting for it.
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "()")]
pub struct Wake;

/// Runs a full pass that starts after this message arrives, and answers with the number of
/// jobs it queued, or why it stopped. Every row committed before sending it is queued when
/// it answers `Ok`. For tests (`drain_jobs`) and for shutdown.
#[derive(Clone, Copy, Debug, Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Drain;

impl Actor for Relay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A stream owned by the actor, so it ends with it. `Notify` keeps one permit, so a
        // commit signalled while nobody listens still wakes the next `woken()`.
        let signal = self.core.relay.clone();
        ctx.add_stream(futures::stream::unfold(signal, |signal| async move {
            signal.woken().await;
            Some((Wake, signal))
        }));
        let every = self
            .core
            .settings
            .queue
            .relay_interval
            .get()
            .max(MIN_INTERVAL);
        ctx.run_interval(every, |relay, ctx| {
            relay.last_failed = false;
            relay.request(ctx);
        });
        // Rows left by a previous process are queued at start, not a timer period later.
        self.request(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        tracing::debug!("outbox relay stopped");
    }
}

impl StreamHandler<Wake> for Relay {
    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        self.request(ctx);
    }

    // The signal stream never ends on its own; the default would stop the actor.
    fn finished(&mut self, _: &mut Self::Context) {}
}

impl Handler<Wake> for Relay {
    type Result = ();

    fn handle(&mut self, _: Wake, ctx: &mut Self::Context) {
        self.request(ctx);
    }
}

impl Handler<Drain> for Relay {
    type Result = ResponseFuture<Result<usize, String>>;

    fn handle(&mut self, _: Drain, ctx: &mut Self::Context) -> Self::Result {
        let (answer, answered) = oneshot::channel();
        self.drains.push(answer);
        self.request(ctx);
        Box::pin(async move {
            answered
                .await
                .unwrap_or_else(|_| Err("the outbox relay stopped".to_owned()))
        })
    }
}

impl Relay {
    /// Starts a pass now, or right after the one in flight.
    fn request(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            self.again = true;
        } else {
            self.start_pass(ctx);
        }
    }

    fn start_pass(&mut self, ctx: &mut Context<Self>) {
        self.running = true;
        self.again = false;
        let drains = std::mem::take(&mut self.drains);
        let pass = drain_outbox(self.core.clone(), self.queues.clone());
        ctx.spawn(pass.into_actor(self).map(move |outcome, relay, ctx| {
            relay.running = false;
            relay.last_failed = outcome.is_err();
            match &outcome {
                Ok(0) => {}
                Ok(moved) => tracing::debug!(moved, "outbox relayed"),
                Err(error) => {
                    tracing::warn!(%error, "outbox relay pass failed; retrying on the next tick")
                }
            }
            for drain in drains {
                let _gone = drain.send(outcome.clone());
            }
            // After a failure, wakes wait for the timer instead of hammering a queue that is
            // down; a waiting `Drain` still gets its own pass.
            if !relay.drains.is_empty() || (relay.again && !relay.last_failed) {
                relay.start_pass(ctx);
            }
        }));
    }
}

/// One pass: batches of the oldest rows until the outbox is empty or a push fails.
async fn drain_outbox(core: Core, queues: Queues) -> Result<usize, String> {
    let mut moved = 0;
    loop {
        let rows = outbox::oldest(&core.db, BATCH)
            .await
            .map_err(|e| format!("reading the outbox: {e}"))?;
        let last_batch = (rows.len() as u64) < BATCH;
        let mut done = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in rows {
            match row.job {
                Ok(job) => match queues
                    .push(&job, row.run_at, &idempotency_key(row.id, row.run_at))
                    .await
                {
                    Ok(()) => {
                        done.push(row.id);
                        moved += 1;
                    }
                    Err(error) => {
                        failure = Some(format!("queueing outbox row {}: {error}", row.id));
                        break;
                    }
                },
                Err(reason) => {
                    // No later code will ever read it; keeping it would block nothing but
                    // would be retried forever.
                    tracing::error!(outbox_id = row.id, %reason, "dropping an undecodable outbox row");
                    done.push(row.id);
                }
            }
        }
        outbox::remove(&core.db, &done)
            .await
            .map_err(|e| format!("deleting relayed outbox rows: {e}"))?;
        if let Some(failure) = failure {
            return Err(failure);
        }
        if last_batch {
            return Ok(moved);
        }
    }
}

/// The queue's idempotency key of an outbox row. The row id alone would repeat if the
/// application's database were recreated beside a surviving queue, silently swallowing new
/// jobs; the due instant makes that collision practically impossible, and re-pushing the
/// same row still yields the same key.
fn idempotency_key(id: i64, run_at: DateTime<Utc>) -> String {
    format!("outbox-{id}-{}", run_at.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn idempotency_keys_are_stable_per_row_and_differ_across_rows() {
        let at = Utc
            .timestamp_millis_opt(1_700_000_000_123)
            .single()
            .expect("valid instant");
        assert_eq!(idempotency_key(7, at), "outbox-7-1700000000123");
        assert_eq!(idempotency_key(7, at), idempotency_key(7, at));
        assert_ne!(idempotency_key(7, at), idempotency_key(8, at));
        assert_ne!(
            idempotency_key(7, at),
            idempotency_key(7, at + chrono::Duration::milliseconds(1))
        );
    }
}
