//! SeaORM models and active enums of Sluice: data only, no behaviour.
//!
//! Only `sluice-core` writes through these types; the API and the workers never see them
//! (they speak DTOs and domain types), so a column rename stays inside core.

pub mod audit_event;
pub mod cursor;
pub mod file;
pub mod lease;
pub mod outbox_job;
pub mod quota_usage;
pub mod stats_rollup;
pub mod upload_batch;
pub mod upload_session;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
