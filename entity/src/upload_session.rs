//! One upload session: the state-machine row.
//!
//! Invariants (enforced by SQL CHECK constraints too): `state` is one of the eight
//! states; `version` grows by one on every transition, so a compare-and-set on
//! (state, version) lets only one of two racing writers win.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The lifecycle of an upload; `plan()` in `sluice_core::upload::state` says which events
/// move it where (the team's design notes, `../shared/DESIGN.md`, draw it).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "verifying")]
    Verifying,
    #[sea_orm(string_value = "uploaded")]
    Uploaded,
    #[sea_orm(string_value = "committed")]
    Committed,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "aborted")]
    Aborted,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "deleted")]
    Deleted,
}

impl UploadState {
    pub const ALL: [UploadState; 8] = [
        UploadState::Pending,
        UploadState::Verifying,
        UploadState::Uploaded,
        UploadState::Committed,
        UploadState::Rejected,
        UploadState::Aborted,
        UploadState::Expired,
        UploadState::Deleted,
    ];

    /// The state of a stored or wire name.
    pub fn from_name(name: &str) -> Option<UploadState> {
        UploadState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Pending => "pending",
            UploadState::Verifying => "verifying",
            UploadState::Uploaded => "uploaded",
            UploadState::Committed => "committed",
            UploadState::Rejected => "rejected",
            UploadState::Aborted => "aborted",
            UploadState::Expired => "expired",
            UploadState::Deleted => "deleted",
        }
    }
}

/// How the bytes travel: one presigned PUT, or a multipart upload.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum UploadMethod {
    #[sea_orm(string_value = "put")]
    Put,
    #[sea_orm(string_value = "multipart")]
    Multipart,
}

/// Why verification rejected an object; stored as its code.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The stored object's size differs from the declared size.
    #[sea_orm(string_value = "size_mismatch")]
    SizeMismatch,
    /// The stored bytes do not match the declared checksum.
    #[sea_orm(string_value = "checksum_mismatch")]
    ChecksumMismatch,
    /// The stored type, or the type the first bytes reveal, contradicts the declared one.
    #[sea_orm(string_value = "type_mismatch")]
    TypeMismatch,
}

impl Failure {
    pub const ALL: [Failure; 3] = [
        Failure::SizeMismatch,
        Failure::ChecksumMismatch,
        Failure::TypeMismatch,
    ];

    /// The failure of a code.
    pub fn from_code(code: &str) -> Option<Failure> {
        Failure::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The stored and wire code (also the API's problem `code`).
    pub fn code(self) -> &'static str {
        match self {
            Failure::SizeMismatch => "size_mismatch",
            Failure::ChecksumMismatch => "checksum_mismatch",
            Failure::TypeMismatch => "type_mismatch",
        }
    }
}

impl UploadMethod {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadMethod::Put => "put",
            UploadMethod::Multipart => "multipart",
        }
    }

    pub fn from_name(name: &str) -> Option<UploadMethod> {
        [UploadMethod::Put, UploadMethod::Multipart]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner: String,
    pub profile: String,
    /// Sanitised original filename, restored on download through Content-Disposition.
    pub filename: String,
    /// Declared size in bytes; the presigned PUT signs it.
    pub size: i64,
    pub content_type: String,
    /// Lower-case hex SHA-256 the client declared, if any.
    pub sha256: Option<String>,
    /// Whether the PUT URL signs `x-amz-checksum-sha256` (a declared digest, a single
    /// PUT and a store that checks checksums), so the store was asked to refuse other bytes.
    pub checksum_signed: bool,
    /// Whether verification found the store reporting the declared SHA-256 for the
    /// object: the store itself vouches for the bytes.
    pub checksum_verified: bool,
    /// Free-form string map the client attached.
    pub metadata: Json,
    /// Opaque object key, generated by Sluice.
    #[sea_orm(unique)]
    pub key: String,
    pub method: UploadMethod,
    pub state: UploadState,
    pub version: i32,
    /// Whether the PUT URL signs `If-None-Match: *`.
    pub one_time: bool,
    /// The check that rejected the object, when `state` is `rejected`.
    pub failure: Option<Failure>,
    /// The deadline of the current state (upload TTL, verification deadline, commit TTL).
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the `pending` state ends (creation plus the upload TTL); restored when a
    /// verification finds nothing stored yet. `None` only on rows older than the column.
    pub upload_deadline: Option<DateTimeUtc>,
    /// When the last upload URL Sluice issued for this key expires: a PUT can land until
    /// then, so a terminal session's key is cleaned once more after it.
    pub urls_valid_until: Option<DateTimeUtc>,
    /// Set while the bucket is owed a cleanup of this key: when it is next due.
    pub cleanup_due_at: Option<DateTimeUtc>,
    /// When the last owed cleanup finished; the key is clean for good from then on.
    pub cleaned_at: Option<DateTimeUtc>,
    /// The store's multipart upload id, for `multipart` sessions.
    pub multipart_upload_id: Option<String>,
    /// Size of every part but the last, for `multipart` sessions.
    pub part_size: Option<i64>,
    /// Number of parts, for `multipart` sessions.
    pub part_count: Option<i32>,
    /// Whether `size` is what the client declared (and its URLs sign). When false, `size`
    /// is the profile's limit (reserved against quota) until verification records the
    /// real size.
    pub size_exact: bool,
    /// Whether the upload request can write the key again after a first write (a POST
    /// policy, or a PUT that signs no `If-None-Match`): verification then seals the bytes
    /// under `sealed_key`.
    pub rewritable: bool,
    /// Where verification copied the verified bytes of a rewritable session: a key no URL
    /// was ever issued for, so they can never change. Downloads read only this key.
    pub sealed_key: Option<String>,
    /// Bytes that may still land under `key` although the session no longer counts them
    /// (its URLs stay valid until they expire): reserved against quota until the key is
    /// cleaned for good.
    pub held_bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
