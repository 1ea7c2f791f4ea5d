//! Operator queries and actions on upload sessions: the filtered, keyset-paginated list
//! (`list`), statistics (`stats`), one session with its audit trail and force-expiry
//! (`session`). Every list query is backed by an index that matches its filter and its
//! newest-first order.

pub mod list;
pub mod session;
pub mod stats;
