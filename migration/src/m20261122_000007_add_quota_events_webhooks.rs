//! Quota accounting, the audit sink and webhooks:
//! - `quota_usage`: one row per owner and scope (a profile's name, or `*` for the owner's
//!   total), the counters reservations and releases move in the transactions of the
//!   state changes;
//! - `audit_events.kind`: transitions and the events that are not (download links,
//!   cleanups, admin actions) in one ordered stream;
//! - `cursors`: how far each sink has shipped that stream;
//! - `webhook_deliveries` and `webhook_attempts`: every delivery and every attempt.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QuotaUsage::Table)
                    .col(string_len(QuotaUsage::Owner, 255))
                    .col(string_len(QuotaUsage::Scope, 64))
                    .col(integer(QuotaUsage::Day))
                    .col(big_integer(QuotaUsage::UploadsToday).default(0))
                    .col(big_integer(QuotaUsage::BytesToday).default(0))
                    .col(big_integer(QuotaUsage::ReservedBytes).default(0))
                    .col(big_integer(QuotaUsage::StoredBytes).default(0))
                    .primary_key(
                        Index::create()
                            .col(QuotaUsage::Owner)
                            .col(QuotaUsage::Scope),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(string_len(AuditEvents::Kind, 32).default("transition"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cursors::Table)
                    .col(string_len(Cursors::Name, 64).primary_key())
                    .col(big_integer(Cursors::Position))
                    .col(timestamp_with_time_zone(Cursors::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(string_len(WebhookDeliveries::MessageId, 64).unique_key())
                    .col(string_len(WebhookDeliveries::Endpoint, 64))
                    .col(string_len(WebhookDeliveries::EventType, 64))
                    .col(ColumnDef::new(WebhookDeliveries::UploadId).uuid().null())
                    .col(json(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::FinishedAt))
                    .to_owned(),
            )
            .await?;
        // A delivery waits for the earlier ones of its endpoint and session.
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_stream_idx")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Endpoint)
                    .col(WebhookDeliveries::UploadId)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(big_pk_auto(WebhookAttempts::Id))
                    .col(big_integer(WebhookAttempts::DeliveryId))
                    .col(timestamp_with_time_zone(WebhookAttempts::At))
                    .col(integer_null(WebhookAttempts::Status))
                    .col(big_integer(WebhookAttempts::LatencyMs))
                    .col(text_null(WebhookAttempts::Error))
                    .col(timestamp_with_time_zone_null(WebhookAttempts::NextTry))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_attempts_delivery_idx")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::DeliveryId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Cursors::Table.into_iden(),
            QuotaUsage::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum QuotaUsage {
    Table,
    Owner,
    Scope,
    Day,
    UploadsToday,
    BytesToday,
    ReservedBytes,
    StoredBytes,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum Cursors {
    Table,
    Name,
    Position,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    MessageId,
    Endpoint,
    EventType,
    UploadId,
    Payload,
    Status,
    Attempts,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    At,
    Status,
    LatencyMs,
    Error,
    NextTry,
}
