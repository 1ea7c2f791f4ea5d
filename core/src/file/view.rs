//! The read model of files, and the download request.

use chrono::{DateTime, Utc};
use sluice_entity::file::Model;

use crate::config::Disposition;
use crate::ids::{FileId, UploadId};

#[derive(Clone, Debug)]
pub struct FileView {
    pub id: FileId,
    pub upload_id: UploadId,
    pub owner: String,
    pub profile: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    pub sha256: Option<String>,
    /// Whether the store reported the declared SHA-256 at verification.
    pub checksum_verified: bool,
    pub key: String,
    pub created_at: DateTime<Utc>,
    /// What the malware scanner said, for profiles that scan.
    pub scan: Option<sluice_domain::ScanResult>,
}

impl From<&Model> for FileView {
    fn from(m: &Model) -> Self {
        Self {
            id: FileId(m.id),
            upload_id: UploadId(m.upload_id),
            owner: m.owner.clone(),
            profile: m.profile.clone(),
            filename: m.filename.clone(),
            size: u64::try_from(m.size).unwrap_or(0),
            content_type: m.content_type.clone(),
            sha256: m.sha256.clone(),
            checksum_verified: m.checksum_verified,
            key: m.key.clone(),
            created_at: m.created_at,
            scan: m.scan,
        }
    }
}

/// Options of a download link; absent fields take the profile's defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct DownloadRequest {
    pub disposition: Option<Disposition>,
    pub ttl_seconds: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}
