//! Sluice's state machine (`state::plan`) and the words it speaks: the state of an upload,
//! how its bytes travel, why verification rejected it, and what webhooks announce
//! (`Notice`). Plain types with their stored and wire names; no IO, no ORM.
//!
//! Invariants:
//! - a name is never changed or reused (rows and webhook receivers hold them);
//! - the column mapping (SeaORM active enums, stored as these names) is compiled only with
//!   the `sea-orm` feature, which `sluice-entity` turns on: core's pure code (`plan()` and
//!   its tests) and the API's wire types never see the ORM;
//! - the API does not serialise these: it maps them onto wire types of its own.

pub mod notice;
pub mod state;
pub mod time;

pub use notice::Notice;

#[cfg(feature = "sea-orm")]
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The lifecycle of an upload; `plan()` in `sluice_core::upload::state` says which events
/// move it where (the team's design notes, `../shared/DESIGN.md`, draw it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(EnumIter, DeriveActiveEnum))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "pending"))]
    Pending,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "verifying"))]
    Verifying,
    /// Verified, and waiting for the profile's malware scanner to pass the stored bytes
    /// (profiles with `scan = true`); its deadline is still the verification deadline.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "scanning"))]
    Scanning,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "uploaded"))]
    Uploaded,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "committed"))]
    Committed,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "rejected"))]
    Rejected,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "aborted"))]
    Aborted,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "expired"))]
    Expired,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "deleted"))]
    Deleted,
}

impl UploadState {
    pub const ALL: [UploadState; 9] = [
        UploadState::Pending,
        UploadState::Verifying,
        UploadState::Scanning,
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

    /// Whether a batch counts the session as done: its bytes were accepted (`uploaded`,
    /// and whatever follows) or it ended. A settled session never becomes unsettled again.
    pub fn settles_batch(self) -> bool {
        !matches!(
            self,
            UploadState::Pending | UploadState::Verifying | UploadState::Scanning
        )
    }

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Pending => "pending",
            UploadState::Verifying => "verifying",
            UploadState::Scanning => "scanning",
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(EnumIter, DeriveActiveEnum))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum UploadMethod {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "put"))]
    Put,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "multipart"))]
    Multipart,
}

/// Why verification rejected an object; stored as its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(EnumIter, DeriveActiveEnum))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(64))")
)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The stored object's size differs from the declared size.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "size_mismatch"))]
    SizeMismatch,
    /// The stored bytes do not match the declared checksum.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "checksum_mismatch"))]
    ChecksumMismatch,
    /// The stored type, or the type the first bytes reveal, contradicts the declared one.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "type_mismatch"))]
    TypeMismatch,
    /// The malware scanner found a signature in the stored bytes (its name is in the
    /// audit event and the webhook, never in a client-facing message).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "malware_detected"))]
    MalwareDetected,
    /// The object is larger than the scanner accepts and the profile refuses what it
    /// cannot scan (`scan_too_large = "reject"`).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "too_large_to_scan"))]
    TooLargeToScan,
}

/// What the malware scanner said of a session's bytes, recorded on the session and its
/// file (`scan`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sea-orm", derive(EnumIter, DeriveActiveEnum))]
#[cfg_attr(
    feature = "sea-orm",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum ScanResult {
    /// The scanner read every byte and found nothing.
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "clean"))]
    Clean,
    /// Larger than the scanner accepts, and passed unscanned because the profile says so
    /// (`scan_too_large = "pass"`).
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "unscanned"))]
    Unscanned,
}

impl ScanResult {
    pub const ALL: [ScanResult; 2] = [ScanResult::Clean, ScanResult::Unscanned];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScanResult::Clean => "clean",
            ScanResult::Unscanned => "unscanned",
        }
    }
}

impl Failure {
    pub const ALL: [Failure; 5] = [
        Failure::SizeMismatch,
        Failure::ChecksumMismatch,
        Failure::TypeMismatch,
        Failure::MalwareDetected,
        Failure::TooLargeToScan,
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
            Failure::MalwareDetected => "malware_detected",
            Failure::TooLargeToScan => "too_large_to_scan",
        }
    }
}

impl UploadMethod {
    pub const ALL: [UploadMethod; 2] = [UploadMethod::Put, UploadMethod::Multipart];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadMethod::Put => "put",
            UploadMethod::Multipart => "multipart",
        }
    }

    pub fn from_name(name: &str) -> Option<UploadMethod> {
        UploadMethod::ALL.into_iter().find(|m| m.as_str() == name)
    }
}
