//! Cleanup that never gives up and jobs that are never lost:
//! - sessions remember their upload deadline, when their last upload URL expires, and
//!   whether (and when next) the bucket is owed a cleanup of their key;
//! - job rows stay until their job has run: they record their dispatch and last error,
//!   and name the session they are about;
//! - a lease table lets one process at a time run a periodic sweep.
//!
//! Every new session column is nullable so rows written before this migration stay valid.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            UploadSessions::UploadDeadline,
            UploadSessions::UrlsValidUntil,
            UploadSessions::CleanupDueAt,
            UploadSessions::CleanedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UploadSessions::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        // The sweep finds owed cleanups by due time.
        manager
            .create_index(
                Index::create()
                    .name("upload_sessions_cleanup_due_idx")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::CleanupDueAt)
                    .to_owned(),
            )
            .await?;

        let outbox_columns = [
            ColumnDef::new(OutboxJobs::UploadId)
                .uuid()
                .null()
                .to_owned(),
            timestamp_with_time_zone_null(OutboxJobs::DispatchedAt),
            string_len_null(OutboxJobs::DispatchToken, 64),
            text_null(OutboxJobs::LastError),
        ];
        for column in outbox_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(OutboxJobs::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // The relay takes due rows in due order; the sweep looks rows up by session.
        manager
            .create_index(
                Index::create()
                    .name("outbox_jobs_run_at_idx")
                    .table(OutboxJobs::Table)
                    .col(OutboxJobs::RunAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_jobs_upload_idx")
                    .table(OutboxJobs::Table)
                    .col(OutboxJobs::UploadId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(string_len(Leases::Name, 64).primary_key())
                    .col(string_len(Leases::Holder, 64))
                    .col(timestamp_with_time_zone(Leases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    UploadDeadline,
    UrlsValidUntil,
    CleanupDueAt,
    CleanedAt,
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    UploadId,
    DispatchedAt,
    DispatchToken,
    LastError,
    RunAt,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}
