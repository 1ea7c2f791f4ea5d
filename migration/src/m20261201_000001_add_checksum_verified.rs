//! Checksums the store vouches for: whether a session's PUT URL signed
//! `x-amz-checksum-sha256`, and whether verification found the store reporting the
//! declared SHA-256 (on the session and on the file it became). Rows older than the
//! columns were never checked by the store: false.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        for column in [
            UploadSessions::ChecksumSigned,
            UploadSessions::ChecksumVerified,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UploadSessions::Table)
                        .add_column(boolean(column).default(false))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Files::Table)
                    .add_column(boolean(Files::ChecksumVerified).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column in place; the columns are harmless to keep.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    ChecksumSigned,
    ChecksumVerified,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    ChecksumVerified,
}
