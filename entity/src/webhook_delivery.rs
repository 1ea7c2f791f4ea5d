//! One webhook message to one endpoint. `message_id` is the `webhook-id` header, the same
//! on every attempt; `status` is `pending`, `delivered` or `failed` (given up).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub message_id: String,
    pub endpoint: String,
    pub event_type: String,
    pub upload_id: Option<Uuid>,
    pub payload: Json,
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
