//! Ordered, append-only schema migrations of Sluice; the same files run on SQLite and
//! PostgreSQL.
//!
//! Invariant: a migration that has landed is never edited; a change is a new file.
//! Migrations name their tables and columns with their own idents instead of the entity
//! crate, so they stay frozen in time while the entities evolve.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_upload_sessions;
mod m20261122_000002_create_files;
mod m20261122_000003_create_audit_events;
mod m20261122_000004_create_outbox_jobs;
mod m20261122_000005_track_cleanup_and_dispatch;
mod m20261122_000006_add_multipart;
mod m20261122_000007_add_quota_events_webhooks;
mod m20261122_000008_index_admin_queries;
mod m20261122_000009_create_stats_rollup;
mod m20261122_000010_add_size_exact;
mod m20261201_000001_add_checksum_verified;
mod m20261203_000001_add_sealing_and_holds;
mod m20261203_000010_index_retention;
mod m20261203_000101_index_usage_on_read;
mod m20261204_000001_add_scan;
mod m20261205_000001_create_upload_batches;
mod m20261205_000002_webhook_operations;
mod m20261206_000001_add_store;
mod m20261206_000002_add_trace_parent;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_upload_sessions::Migration),
            Box::new(m20261122_000002_create_files::Migration),
            Box::new(m20261122_000003_create_audit_events::Migration),
            Box::new(m20261122_000004_create_outbox_jobs::Migration),
            Box::new(m20261122_000005_track_cleanup_and_dispatch::Migration),
            Box::new(m20261122_000006_add_multipart::Migration),
            Box::new(m20261122_000007_add_quota_events_webhooks::Migration),
            Box::new(m20261122_000008_index_admin_queries::Migration),
            Box::new(m20261122_000009_create_stats_rollup::Migration),
            Box::new(m20261122_000010_add_size_exact::Migration),
            Box::new(m20261201_000001_add_checksum_verified::Migration),
            Box::new(m20261203_000001_add_sealing_and_holds::Migration),
            Box::new(m20261203_000010_index_retention::Migration),
            Box::new(m20261203_000101_index_usage_on_read::Migration),
            Box::new(m20261204_000001_add_scan::Migration),
            Box::new(m20261205_000001_create_upload_batches::Migration),
            Box::new(m20261205_000002_webhook_operations::Migration),
            Box::new(m20261206_000001_add_store::Migration),
            Box::new(m20261206_000002_add_trace_parent::Migration),
        ]
    }
}
