//! One batch of upload sessions created by one `POST /v1/uploads/batch`.
//!
//! Invariants: `unsettled` counts the batch's sessions not yet `uploaded` or in an end
//! state, and only falls (each settling transition takes one off in its own transaction);
//! `completed_at` is set once, by the transition that brought `unsettled` to zero.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner: String,
    /// Sessions created (refused items make none).
    pub total: i32,
    /// Sessions not yet `uploaded` or in an end state.
    pub unsettled: i32,
    pub created_at: DateTimeUtc,
    /// When the last session settled (`batch.completed` was announced).
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
