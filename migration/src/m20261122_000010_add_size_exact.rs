//! Sessions whose size the client did not declare (Uppy's Companion routes carry none):
//! `size` then holds the profile's limit, reserved against quota, until verification
//! records the real size.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UploadSessions::Table)
                    .add_column(boolean(UploadSessions::SizeExact).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column in place; the column is harmless to keep.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    SizeExact,
}
