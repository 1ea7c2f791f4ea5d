//! The relay, an actix actor: dispatches the job table's due rows into the job queue.
//!
//! Invariants:
//! - a row is claimed (compare-and-set in the database) before it is pushed, so two
//!   relays never dispatch it twice; a push that fails gives the claim back;
//! - a row stays in the table until its job ran, so a crash or a queue outage (a Redis
//!   restart loses what it held) delays jobs but never loses them: a claim older than
//!   `queue.dispatch_lease` is taken again;
//! - a row this version cannot read is parked, never deleted;
//! - passes never overlap; a wake during a pass buys exactly one more pass after it;
//! - due times are the core's clock: between wakes the relay sleeps until the next row
//!   becomes claimable, at most `queue.relay_interval`.
//!
//! Wakes come from `core.relay` (signalled by use cases after each commit), from the timer
//! and from [`Drain`], which also reports the outcome of a full pass. The actor needs an
//! actix `System` (the binary runs under `actix_rt::System`; tests under `#[actix_rt::test]`)
//! and stops with it.

use std::time::Duration;

use actix::prelude::*;
use sluice_core::Core;
use sluice_core::jobs::{Dispatch, Job};
use sluice_core::outbox;
use tokio::sync::oneshot;

use crate::queues::Queues;

/// Rows read per query; a pass reads batches until the outbox is empty.
const BATCH: u64 = 100;

/// The timer's floor, so a zero `relay_interval` cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest scheduled wake, so rows due in the same instant are taken in one pass.
const MIN_WAKE: Duration = Duration::from_millis(20);

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
/// jobs it dispatched, or why it stopped. Every row due and committed before sending it is
/// dispatched when it answers `Ok`. For tests (`drain_jobs`) and for shutdown.
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

    /// Wakes the relay when the next row becomes claimable, if that is before the timer.
    fn schedule_next(&mut self, ctx: &mut Context<Self>) {
        let core = self.core.clone();
        let interval = core.settings.queue.relay_interval.get().max(MIN_INTERVAL);
        let lease = core.settings.queue.dispatch_lease.get();
        let next = async move {
            outbox::next_claimable(&core.db, lease)
                .await
                .ok()
                .flatten()
                .map(|at| (at, core.now()))
        };
        ctx.spawn(next.into_actor(self).map(move |next, _relay, ctx| {
            let Some((at, now)) = next else { return };
            let wait = (at - now).to_std().unwrap_or(Duration::ZERO);
            if wait < interval {
                ctx.run_later(wait.max(MIN_WAKE), |relay, ctx| relay.request(ctx));
            }
        }));
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
            relay.schedule_next(ctx);
            // After a failure, wakes wait for the timer instead of hammering a queue that is
            // down; a waiting `Drain` still gets its own pass.
            if !relay.drains.is_empty() || (relay.again && !relay.last_failed) {
                relay.start_pass(ctx);
            }
        }));
    }
}

/// One pass: batches of due rows until none is left or a push fails.
async fn drain_outbox(core: Core, queues: Queues) -> Result<usize, String> {
    let lease = core.settings.queue.dispatch_lease.get();
    let mut moved = 0;
    loop {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let rows = outbox::claim_due(&core.db, core.now(), lease, &token, BATCH)
            .await
            .map_err(|e| format!("claiming due jobs: {e}"))?;
        let last_batch = (rows.len() as u64) < BATCH;
        for (i, row) in rows.iter().enumerate() {
            if let Err(reason) = Job::decode(&row.job, row.payload.clone()) {
                outbox::park(&core.db, row, core.now(), &reason.to_string())
                    .await
                    .map_err(|e| format!("parking job row {}: {e}", row.id))?;
                continue;
            }
            let dispatch = Dispatch {
                row: row.id,
                token: token.clone(),
            };
            if let Err(error) = queues
                .push(&row.job, dispatch, &idempotency_key(row.id, &token))
                .await
            {
                // Give this row and every later one of the batch back for the next pass.
                for rest in &rows[i..] {
                    outbox::unclaim(&core.db, rest.id, &token).await.ok();
                }
                return Err(format!("queueing job row {}: {error}", row.id));
            }
            moved += 1;
        }
        if last_batch {
            return Ok(moved);
        }
    }
}

/// The queue's idempotency key of one dispatch of a row: a re-dispatch (new token) is a
/// new message, a retried push of the same dispatch is not.
fn idempotency_key(row: i64, token: &str) -> String {
    format!("job-{row}-{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_differ_per_row_and_per_dispatch() {
        assert_eq!(idempotency_key(7, "abc"), "job-7-abc");
        assert_eq!(idempotency_key(7, "abc"), idempotency_key(7, "abc"));
        assert_ne!(idempotency_key(7, "abc"), idempotency_key(8, "abc"));
        assert_ne!(idempotency_key(7, "abc"), idempotency_key(7, "abd"));
    }
}
