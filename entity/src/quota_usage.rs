//! An owner's quota counters in one scope: a profile's name, or `*` for the owner's total
//! across profiles. `day` (days since the common era, UTC) is the day the daily counters
//! count; a reservation on a later day resets them first.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quota_usage")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    pub day: i32,
    /// Uploads created on `day` that did not end rejected, aborted or expired.
    pub uploads_today: i64,
    /// Their declared bytes.
    pub bytes_today: i64,
    /// Bytes of uploads still pending or verifying.
    pub reserved_bytes: i64,
    /// Bytes of uploads verified (uploaded or committed).
    pub stored_bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
