//! Per-profile stores: every session and every file records the store (by its configured
//! name) its object lives in, so a profile moved to another store later never orphans
//! the objects it already has: they are still downloaded from, verified in and cleaned
//! from the store they were written to.
//!
//! Existing rows get `default`, the `[storage]` store: the only one there was.
//! The sweep's stale-multipart check reads live multipart sessions per store.

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
                    .add_column(string_len(UploadSessions::Store, 32).default("default"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Files::Table)
                    .add_column(string_len(Files::Store, 32).default("default"))
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
    Store,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Store,
}
