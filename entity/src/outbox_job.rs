//! Transactional outbox: jobs written in the same transaction as the state change that
//! triggers them, moved into the job queue by the relay, deleted once queued.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Queue name of the job (see `sluice_core::jobs`).
    pub job: String,
    pub payload: Json,
    /// Not before this time.
    pub run_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Relay attempts that failed to enqueue it (the queue was down).
    pub attempts: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
