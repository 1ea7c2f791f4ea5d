//! The state-machine table. The CHECK constraints make an unknown state or method, a
//! negative size or version unstorable whatever code writes the row.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const STATES: [&str; 8] = [
    "pending",
    "verifying",
    "uploaded",
    "committed",
    "rejected",
    "aborted",
    "expired",
    "deleted",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UploadSessions::Table)
                    .col(uuid(UploadSessions::Id).primary_key())
                    .col(string_len(UploadSessions::Owner, 255))
                    .col(string_len(UploadSessions::Profile, 64))
                    .col(string_len(UploadSessions::Filename, 255))
                    .col(big_integer(UploadSessions::Size).check((
                        "upload_sessions_size_ck",
                        Expr::col(UploadSessions::Size).gte(0),
                    )))
                    .col(string_len(UploadSessions::ContentType, 255))
                    .col(string_len_null(UploadSessions::Sha256, 64))
                    .col(json(UploadSessions::Metadata))
                    .col(string_len(UploadSessions::Key, 1024).unique_key())
                    .col(string_len(UploadSessions::Method, 16).check((
                        "upload_sessions_method_ck",
                        Expr::col(UploadSessions::Method).is_in(["put", "multipart"]),
                    )))
                    .col(string_len(UploadSessions::State, 16).check((
                        "upload_sessions_state_ck",
                        Expr::col(UploadSessions::State).is_in(STATES),
                    )))
                    .col(integer(UploadSessions::Version).check((
                        "upload_sessions_version_ck",
                        Expr::col(UploadSessions::Version).gte(0),
                    )))
                    .col(boolean(UploadSessions::OneTime))
                    .col(string_len_null(UploadSessions::Failure, 64))
                    .col(timestamp_with_time_zone(UploadSessions::ExpiresAt))
                    .col(timestamp_with_time_zone(UploadSessions::CreatedAt))
                    .col(timestamp_with_time_zone(UploadSessions::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The sweep scans live sessions by deadline; owners list their own sessions.
        manager
            .create_index(
                Index::create()
                    .name("upload_sessions_state_expires_idx")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::State)
                    .col(UploadSessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("upload_sessions_owner_idx")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::Owner)
                    .col(UploadSessions::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UploadSessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Id,
    Owner,
    Profile,
    Filename,
    Size,
    ContentType,
    Sha256,
    Metadata,
    Key,
    Method,
    State,
    Version,
    OneTime,
    Failure,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}
