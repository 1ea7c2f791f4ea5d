//! Multipart uploads: a session remembers the store's multipart upload id and its plan
//! (part size and count), so any client can resume it and every part URL signs the exact
//! length of its part. The stale-multipart sweep looks sessions up by upload id.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            string_len_null(UploadSessions::MultipartUploadId, 1024),
            big_integer_null(UploadSessions::PartSize),
            integer_null(UploadSessions::PartCount),
        ];
        // SQLite adds one column per ALTER TABLE.
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(UploadSessions::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("upload_sessions_multipart_idx")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::MultipartUploadId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("upload_sessions_multipart_idx")
                    .table(UploadSessions::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    MultipartUploadId,
    PartSize,
    PartCount,
}
