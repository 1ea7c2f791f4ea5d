//! Wire types (`*Request` / `*Response`), documented for OpenAPI. Built from core views in
//! one place each; entities never reach the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::config::Disposition;
use sluice_core::file::{DownloadLink, FileView};
use sluice_core::upload::{CreatedUpload, SessionView, UploadMethod, UploadState};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

fn default_profile() -> String {
    "default".into()
}

/// Create an upload session.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// Upload profile; `default` when absent.
    #[serde(default = "default_profile")]
    #[validate(length(min = 1, max = 64))]
    pub profile: String,
    /// The file's original name; sanitised and restored on download.
    #[validate(length(min = 1, max = 1024))]
    pub filename: String,
    /// Exact size in bytes; the upload URL signs it.
    pub size: u64,
    /// Media type; the upload URL signs it.
    #[validate(length(min = 3, max = 255))]
    pub content_type: String,
    /// Lower-case hex SHA-256 of the content, if known.
    #[validate(custom(function = "validate_sha256"))]
    pub sha256: Option<String>,
    /// Up to 32 string pairs kept with the session.
    #[validate(custom(function = "validate_metadata"))]
    pub metadata: Option<BTreeMap<String, String>>,
}

fn validate_sha256(value: &str) -> Result<(), ValidationError> {
    if value.len() == 64
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(())
    } else {
        Err(ValidationError::new("sha256").with_message("must be 64 lower-case hex digits".into()))
    }
}

fn validate_metadata(value: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    let ok = value.len() <= 32
        && value
            .iter()
            .all(|(k, v)| (1..=64).contains(&k.len()) && v.len() <= 1024);
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("metadata").with_message(
            "at most 32 entries, keys of 1 to 64 bytes, values up to 1024 bytes".into(),
        ))
    }
}

/// How to PUT the bytes: send exactly these headers, they are signed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PutInstructions {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateUploadResponse {
    pub id: Uuid,
    #[schema(value_type = String, example = "pending")]
    pub state: UploadState,
    pub key: String,
    pub expires_at: DateTime<Utc>,
    #[schema(value_type = String, example = "put")]
    pub method: UploadMethod,
    /// Present when `method` is `put`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put: Option<PutInstructions>,
}

impl From<CreatedUpload> for CreateUploadResponse {
    fn from(c: CreatedUpload) -> Self {
        Self {
            id: c.session.id.0,
            state: c.session.state,
            key: c.session.key,
            expires_at: c.session.expires_at,
            method: c.session.method,
            put: Some(PutInstructions {
                url: c.put.url,
                headers: c.put.headers,
            }),
        }
    }
}

/// An upload session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    /// pending, verifying, uploaded, committed, rejected, aborted, expired or deleted.
    #[schema(value_type = String, example = "uploaded")]
    pub state: UploadState,
    pub profile: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub key: String,
    #[schema(value_type = String, example = "put")]
    pub method: UploadMethod,
    /// Why verification rejected the object, when `state` is `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Deadline of the current state.
    pub expires_at: DateTime<Utc>,
}

impl From<SessionView> for SessionResponse {
    fn from(s: SessionView) -> Self {
        Self {
            id: s.id.0,
            state: s.state,
            profile: s.profile,
            filename: s.filename,
            size: s.size,
            content_type: s.content_type,
            sha256: s.sha256,
            metadata: s.metadata,
            key: s.key,
            method: s.method,
            failure: s.failure,
            created_at: s.created_at,
            updated_at: s.updated_at,
            expires_at: s.expires_at,
        }
    }
}

/// Optional body of `complete`: the client's view of the parts (ignored where Sluice can
/// list them itself).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    #[serde(default)]
    pub parts: Vec<CompletedPart>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
}

/// A committed file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileResponse {
    pub id: Uuid,
    pub upload_id: Uuid,
    pub owner: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

impl From<FileView> for FileResponse {
    fn from(f: FileView) -> Self {
        Self {
            id: f.id.0,
            upload_id: f.upload_id.0,
            owner: f.owner,
            filename: f.filename,
            size: f.size,
            content_type: f.content_type,
            sha256: f.sha256,
            key: f.key,
            created_at: f.created_at,
        }
    }
}

/// Options of a download link; both default to the profile's settings.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// `attachment` (save) or `inline` (display).
    #[schema(value_type = Option<String>, example = "attachment")]
    #[param(value_type = Option<String>)]
    pub disposition: Option<Disposition>,
    /// Lifetime of the URL, at most the profile's `download_ttl`.
    pub ttl_seconds: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadUrlResponse {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl From<DownloadLink> for DownloadUrlResponse {
    fn from(l: DownloadLink) -> Self {
        Self {
            url: l.url,
            expires_at: l.expires_at,
        }
    }
}
