//! Hooks for Sluice's own test suites, behind the `test-support` feature (the `tests`
//! crate turns it on; the service never does): reads of the tables a test inspects, and
//! the single writer's batch transition driven directly.
//!
//! The repositories themselves are private to this crate, so that only core's use cases
//! write the tables (the single-writer rule, held by the compiler); what a test needs of
//! them is named here, one item at a time.

/// Upload sessions: the row, its audit trail, and the set-based transition.
pub mod upload {
    pub use crate::upload::repo::{BatchItem, events, find, transition_batch};
}

/// Webhook deliveries and their attempts.
pub mod webhooks {
    pub use crate::webhooks::repo::{attempts_of, of_upload};
}
