//! Indexes behind quota usage computed on read (`GET /v1/quota` for scopes without a
//! limit, reconcile, and the seeding of a newly limited scope's counter row):
//!
//! - `upload_sessions_owner_state_idx` (owner, state, profile, size): an owner's live and
//!   stored bytes per profile, read from the index alone where the backend can.
//! - `upload_sessions_owner_held_idx` (owner, profile) where `held_bytes <> 0`: the few
//!   sessions whose keys may still receive bytes. Partial, so a create (held 0) never
//!   writes it.
//!
//! The day's counters use `upload_sessions_owner_created_idx` (migration 8).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const HELD: &str = "upload_sessions_owner_held_idx";
const STATE: &str = "upload_sessions_owner_state_idx";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(STATE)
                    .table(UploadSessions::Table)
                    .col(UploadSessions::Owner)
                    .col(UploadSessions::State)
                    .col(UploadSessions::Profile)
                    .col(UploadSessions::Size)
                    .to_owned(),
            )
            .await?;
        // Partial indexes read the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {HELD} ON upload_sessions (owner, profile) WHERE held_bytes <> 0"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [HELD, STATE] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(UploadSessions::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum UploadSessions {
    Table,
    Owner,
    State,
    Profile,
    Size,
}
