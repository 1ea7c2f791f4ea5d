//! The apalis handlers: `run_dispatch` for every job kind (the job itself is declared in
//! `sluice_core::jobs` and runs there), and `sweep` for the periodic backstop.
//!
//! Invariant: a handler never fails towards apalis. Retries are the job table's business
//! (a failed job is rescheduled there, on its kind's schedule), so a queue never retries
//! or drops anything on its own; a run that could not even record its outcome (the
//! database is away) is dispatched again once its dispatch lease runs out.

pub mod dispatch;
pub mod sweep;
