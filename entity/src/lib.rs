//! SeaORM models and active enums of Sluice: data only, no behaviour.
//!
//! Only `sluice-core` writes through these types; the API and the workers never see them
//! (they speak DTOs and domain types), so a column rename stays inside core.

pub mod audit_event;
pub mod file;
pub mod outbox_job;
pub mod upload_session;
