//! One attempt to deliver a webhook: what the endpoint answered, how long it took, and
//! when the next try is due (if any).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: i64,
    pub at: DateTimeUtc,
    /// The HTTP status, `None` when no answer came.
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub next_try: Option<DateTimeUtc>,
    /// The start of the endpoint's answer (at most 512 characters, secrets removed).
    pub response_excerpt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
