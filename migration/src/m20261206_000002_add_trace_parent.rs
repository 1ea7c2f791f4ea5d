//! OpenTelemetry traces through the outbox: a job row keeps the W3C `traceparent` of the
//! span that appended it (NULL while telemetry is off), so the job's run joins the trace
//! of the request or job that caused it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxJobs::Table)
                    .add_column(string_len_null(OutboxJobs::TraceParent, 64))
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
enum OutboxJobs {
    Table,
    TraceParent,
}
