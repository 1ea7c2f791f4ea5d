//! Append-only audit trail: one row per transition of a session, and the events that are
//! not transitions but matter for cost and abuse (download links issued, cleanups
//! performed, admin actions), in one stream ordered by `id`.

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
    /// `transition`, `download_link`, `cleanup` or `admin`. For the others, `from_state`
    /// is `None` and `to_state` is the session's state at the time.
    pub kind: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
