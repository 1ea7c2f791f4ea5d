//! The transactional outbox the relay drains into the job queue.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxJobs::Table)
                    .col(big_pk_auto(OutboxJobs::Id))
                    .col(string_len(OutboxJobs::Job, 64))
                    .col(json(OutboxJobs::Payload))
                    .col(timestamp_with_time_zone(OutboxJobs::RunAt))
                    .col(timestamp_with_time_zone(OutboxJobs::CreatedAt))
                    .col(integer(OutboxJobs::Attempts).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxJobs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    Id,
    Job,
    Payload,
    RunAt,
    CreatedAt,
    Attempts,
}
