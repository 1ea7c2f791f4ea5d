//! A committed file: what the application kept. One per committed session.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub upload_id: Uuid,
    pub owner: String,
    pub profile: String,
    pub filename: String,
    /// Size the store reported at verification.
    pub size: i64,
    pub content_type: String,
    pub sha256: Option<String>,
    /// Whether the store reported the declared SHA-256 at verification.
    pub checksum_verified: bool,
    pub key: String,
    pub created_at: DateTimeUtc,
    /// What the malware scanner said of the bytes (`clean`, `unscanned`), for profiles
    /// that scan.
    pub scan: Option<sluice_domain::ScanResult>,
    /// The store the file's object lives in (its session's).
    pub store: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
