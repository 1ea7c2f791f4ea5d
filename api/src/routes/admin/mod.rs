//! `/v1/admin`: operator queries and actions on sessions and webhook deliveries; admin
//! keys only.

pub mod expire;
pub mod get;
pub mod list;
pub mod stats;
pub mod webhooks;
