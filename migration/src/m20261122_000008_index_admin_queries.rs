//! Indexes behind the admin list: newest first overall, and newest first within a state,
//! an owner or a profile, so every filter an operator combines with the keyset order
//! reads an index range instead of the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, Option<UploadSessions>); 4] = [
    ("upload_sessions_created_idx", None),
    (
        "upload_sessions_state_created_idx",
        Some(UploadSessions::State),
    ),
    (
        "upload_sessions_owner_created_idx",
        Some(UploadSessions::Owner),
    ),
    (
        "upload_sessions_profile_created_idx",
        Some(UploadSessions::Profile),
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, lead) in INDEXES {
            let mut index = Index::create();
            index.name(name).table(UploadSessions::Table);
            if let Some(lead) = lead {
                index.col(lead);
            }
            index.col(UploadSessions::CreatedAt).col(UploadSessions::Id);
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(UploadSessions::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum UploadSessions {
    Table,
    Id,
    State,
    Owner,
    Profile,
    CreatedAt,
}
