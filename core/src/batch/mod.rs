//! Batch sessions: many uploads created by one request (`POST /v1/uploads/batch`), read
//! back as one summary (`GET /v1/batches/{id}`), and announced once as `batch.completed`
//! when every session of the batch is `uploaded` or ended.
//!
//! Invariants:
//! - Each item is checked exactly as the same request alone would be (`upload::create`'s
//!   `prepare`): a refused item makes no session and does not stop the others.
//! - Quota: the accepted items are reserved as one sum per scope in the transaction that
//!   writes them: all of them fit, or the batch is refused whole with the limit that the
//!   sum breaks (`quota_exceeded`) and nothing is written. Why all or nothing: which items
//!   to drop to fit would be Sluice's guess (the first ones? the smallest?), while the
//!   client, told the limit and the room left, can choose.
//! - A batch's `unsettled` count falls by one in the transaction of each transition that
//!   settles one of its sessions (`settle`, called by the single writer); the transition
//!   that brings it to zero, and only that one, announces `batch.completed`.

pub mod create;
pub mod repo;
pub mod view;

pub use create::{BatchItemResult, CreatedBatch, create_batch};
pub use repo::settle;
pub use view::{BatchSummary, summary};
