//! The rollup behind `GET /v1/admin/stats`: sessions and bytes per state, per profile and
//! per day, recomputed by the workers on a schedule, so the dashboard reads a few rows
//! instead of grouping millions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StatsRollup::Table)
                    .col(string_len(StatsRollup::Dimension, 16))
                    .col(string_len(StatsRollup::Key, 64))
                    .col(big_integer(StatsRollup::Count))
                    .col(big_integer(StatsRollup::Bytes))
                    .col(timestamp_with_time_zone(StatsRollup::ComputedAt))
                    .primary_key(
                        Index::create()
                            .col(StatsRollup::Dimension)
                            .col(StatsRollup::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StatsRollup::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum StatsRollup {
    Table,
    Dimension,
    Key,
    Count,
    Bytes,
    ComputedAt,
}
