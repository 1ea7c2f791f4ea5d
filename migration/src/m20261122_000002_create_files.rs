//! Committed files, one per committed session.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(uuid(Files::Id).primary_key())
                    .col(uuid(Files::UploadId).unique_key())
                    .col(string_len(Files::Owner, 255))
                    .col(string_len(Files::Profile, 64))
                    .col(string_len(Files::Filename, 255))
                    .col(
                        big_integer(Files::Size)
                            .check(("files_size_ck", Expr::col(Files::Size).gte(0))),
                    )
                    .col(string_len(Files::ContentType, 255))
                    .col(string_len_null(Files::Sha256, 64))
                    .col(string_len(Files::Key, 1024))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("files_upload_fk")
                            .from(Files::Table, Files::UploadId)
                            .to(UploadSessions::Table, UploadSessions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("files_owner_idx")
                    .table(Files::Table)
                    .col(Files::Owner)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Files::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    UploadId,
    Owner,
    Profile,
    Filename,
    Size,
    ContentType,
    Sha256,
    Key,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Id,
}
