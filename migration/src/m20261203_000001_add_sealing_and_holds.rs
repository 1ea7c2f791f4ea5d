//! Verified bytes that cannot change, and quota for bytes that can still land.
//!
//! - `rewritable`: the session's upload request can write its key again after a first
//!   write (a POST policy, or a PUT that signs no `If-None-Match`). Verification of such a
//!   session copies the object to `sealed_key`, a key no URL was ever issued for.
//! - `sealed_key`: where the verified bytes are kept; downloads read only this key.
//! - `held_bytes`: bytes that may still land under the session's upload key after it left
//!   the books (its URLs stay valid until they expire), counted as reserved until the key
//!   is cleaned for good.
//!
//! Older rows: a PUT session that did not sign `If-None-Match` is rewritable (the POST
//! policy sessions of Uppy cannot be told apart from one-time PUTs and stay unsealed).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        let columns = [
            boolean(UploadSessions::Rewritable)
                .default(false)
                .to_owned(),
            string_null(UploadSessions::SealedKey).to_owned(),
            big_integer(UploadSessions::HeldBytes).default(0).to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(UploadSessions::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        let backfill = Query::update()
            .table(UploadSessions::Table)
            .value(UploadSessions::Rewritable, true)
            .and_where(Expr::col(UploadSessions::Method).eq("put"))
            .and_where(Expr::col(UploadSessions::OneTime).eq(false))
            .to_owned();
        manager.exec_stmt(backfill).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column in place; the columns are harmless to keep.
        Ok(())
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Method,
    OneTime,
    Rewritable,
    SealedKey,
    HeldBytes,
}
