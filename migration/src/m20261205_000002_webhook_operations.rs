//! Webhook deliveries an operator can see, replay and hold:
//!
//! - `webhook_attempts.response_excerpt`: the start of what the endpoint answered (at most
//!   512 characters, secrets removed), for the admin list.
//! - `webhook_endpoints`: per configured endpoint, whether it is paused (`paused_at`). A
//!   paused endpoint's deliveries wait, unattempted, and go out when it is resumed. No row
//!   means not paused.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookAttempts::Table)
                    .add_column(text_null(WebhookAttempts::ResponseExcerpt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(string(WebhookEndpoints::Name).primary_key())
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PausedAt))
                    .to_owned(),
            )
            .await?;
        // The admin list filters deliveries by endpoint and status, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_endpoint_status")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Endpoint)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_webhook_deliveries_endpoint_status")
                    .table(WebhookDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        // SQLite cannot drop a column in place; `response_excerpt` is harmless to keep.
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    ResponseExcerpt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Name,
    PausedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Endpoint,
    Status,
    Id,
}
