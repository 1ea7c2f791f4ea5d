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

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_upload_sessions::Migration),
            Box::new(m20261122_000002_create_files::Migration),
            Box::new(m20261122_000003_create_audit_events::Migration),
            Box::new(m20261122_000004_create_outbox_jobs::Migration),
        ]
    }
}
