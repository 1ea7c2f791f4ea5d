//! `/v1/admin`: operator queries and actions on sessions; admin keys only.

pub mod expire;
pub mod get;
pub mod list;
pub mod stats;
