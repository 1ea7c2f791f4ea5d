//! The append-only audit trail, read oldest first per session.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(uuid(AuditEvents::UploadId))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len_null(AuditEvents::FromState, 16))
                    .col(string_len(AuditEvents::ToState, 16))
                    .col(string_len(AuditEvents::Actor, 300))
                    .col(json(AuditEvents::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .name("audit_events_upload_fk")
                            .from(AuditEvents::Table, AuditEvents::UploadId)
                            .to(UploadSessions::Table, UploadSessions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_upload_idx")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::UploadId)
                    .col(AuditEvents::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    UploadId,
    At,
    FromState,
    ToState,
    Actor,
    Detail,
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Id,
}
