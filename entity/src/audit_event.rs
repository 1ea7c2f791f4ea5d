//! Append-only audit trail: one row per transition of a session.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub upload_id: Uuid,
    pub at: DateTimeUtc,
    /// `None` for the creation event.
    pub from_state: Option<String>,
    pub to_state: String,
    /// Who caused it: `owner:<id>`, `service`, `admin`, `system`.
    pub actor: String,
    /// Machine-readable detail (event name, failure code, sizes).
    pub detail: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
