//! Batch sessions: `upload_batches` (one row per `POST /v1/uploads/batch`) and
//! `upload_sessions.batch_id`.
//!
//! - `unsettled`: how many of the batch's sessions have not yet reached `uploaded` or an
//!   end state. Every transition that settles a batch's session decrements it in the
//!   transition's own transaction; the one that brings it to zero announces
//!   `batch.completed` (the row lock on the batch orders concurrent settlers, so exactly
//!   one sees zero).
//! - `completed_at`: set by that transition; never cleared.
//! - The index on `batch_id` serves `GET /v1/batches/{id}` (counts by state).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UploadBatches::Table)
                    .if_not_exists()
                    .col(uuid(UploadBatches::Id).primary_key())
                    .col(string(UploadBatches::Owner))
                    .col(integer(UploadBatches::Total))
                    .col(integer(UploadBatches::Unsettled))
                    .col(timestamp_with_time_zone(UploadBatches::CreatedAt))
                    .col(timestamp_with_time_zone_null(UploadBatches::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_upload_batches_owner_created")
                    .table(UploadBatches::Table)
                    .col(UploadBatches::Owner)
                    .col(UploadBatches::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UploadSessions::Table)
                    .add_column(uuid_null(UploadSessions::BatchId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_upload_sessions_batch")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::BatchId)
                    .col(UploadSessions::State)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_upload_sessions_batch")
                    .table(UploadSessions::Table)
                    .to_owned(),
            )
            .await?;
        // SQLite cannot drop a column in place; `batch_id` is harmless to keep.
        manager
            .drop_table(Table::drop().table(UploadBatches::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UploadBatches {
    Table,
    Id,
    Owner,
    Total,
    Unsettled,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    BatchId,
    State,
}
