//! Indexes behind retention's batches, so each one reads an index range instead of the
//! table:
//! - ended sessions by state and last transition (`retention.sessions` counts from it);
//! - finished webhook deliveries by when they finished (pending ones have none);
//! - deliveries by session, for "no pending delivery" and for taking a session's
//!   deliveries with it (the stream index leads with the endpoint).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("upload_sessions_state_updated_idx")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::State)
                    .col(UploadSessions::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_finished_idx")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::FinishedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_upload_idx")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::UploadId)
                    .col(WebhookDeliveries::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (
                "upload_sessions_state_updated_idx",
                UploadSessions::Table.into_iden(),
            ),
            (
                "webhook_deliveries_finished_idx",
                WebhookDeliveries::Table.into_iden(),
            ),
            (
                "webhook_deliveries_upload_idx",
                WebhookDeliveries::Table.into_iden(),
            ),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    State,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    UploadId,
    Status,
    FinishedAt,
}
