//! The read model of sessions that use cases hand to adapters, and their inputs. Built in
//! one place from the entity so adapters never see SeaORM types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sluice_domain::{Failure, ScanResult, UploadMethod, UploadState};
use sluice_entity::upload_session::Model;

use super::input::{DeclaredSize, Filename, Metadata, ProfileName};
use crate::ids::UploadId;
use crate::storage::{PresignedRequest, StoredPart};

/// What a client asks for when it creates an upload (already shape-checked by the adapter).
#[derive(Clone, Debug)]
pub struct CreateUpload {
    pub profile: ProfileName,
    pub filename: Filename,
    pub size: DeclaredSize,
    /// Absent or empty: guessed from the filename's extension (`ContentType::bounded`).
    pub content_type: Option<String>,
    /// Hex (any case) or padded base64; stored as lower-case hex.
    pub sha256: Option<String>,
    pub metadata: Metadata,
}

/// How a multipart session is cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartView {
    pub upload_id: String,
    pub part_size: u64,
    pub part_count: u32,
}

/// A session as clients see it.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub id: UploadId,
    pub state: UploadState,
    pub owner: String,
    pub profile: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    pub sha256: Option<String>,
    /// Whether the store reported the declared SHA-256 for the object at verification.
    pub checksum_verified: bool,
    pub metadata: BTreeMap<String, String>,
    pub key: String,
    pub method: UploadMethod,
    /// Code of the failed check, when rejected.
    pub failure: Option<Failure>,
    /// What the malware scanner said, for profiles that scan.
    pub scan: Option<ScanResult>,
    /// The cut, for multipart sessions.
    pub multipart: Option<MultipartView>,
    /// The parts the store holds, for a pending multipart session read with them.
    pub uploaded_parts: Option<Vec<StoredPart>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The batch that created it, if any.
    pub batch_id: Option<uuid::Uuid>,
}

impl From<&Model> for SessionView {
    fn from(m: &Model) -> Self {
        Self {
            id: UploadId(m.id),
            state: m.state,
            owner: m.owner.clone(),
            profile: m.profile.clone(),
            filename: m.filename.clone(),
            size: u64::try_from(m.size).unwrap_or(0),
            content_type: m.content_type.clone(),
            sha256: m.sha256.clone(),
            checksum_verified: m.checksum_verified,
            metadata: serde_json::from_value(m.metadata.clone()).unwrap_or_default(),
            // Where the verified bytes are to be read: the sealed copy once there is one.
            key: m.sealed_key.clone().unwrap_or_else(|| m.key.clone()),
            method: m.method,
            failure: m.failure,
            scan: m.scan,
            multipart: match (&m.multipart_upload_id, m.part_size, m.part_count) {
                (Some(upload_id), Some(size), Some(count)) => Some(MultipartView {
                    upload_id: upload_id.clone(),
                    part_size: u64::try_from(size).unwrap_or(0),
                    part_count: u32::try_from(count).unwrap_or(0),
                }),
                _ => None,
            },
            uploaded_parts: None,
            created_at: m.created_at,
            updated_at: m.updated_at,
            expires_at: m.expires_at,
            batch_id: m.batch_id,
        }
    }
}

/// A created session and the instructions to upload its bytes: a presigned PUT for a
/// single-PUT session (a multipart session's parts are signed on demand).
#[derive(Clone, Debug)]
pub struct CreatedUpload {
    pub session: SessionView,
    pub put: Option<PresignedRequest>,
}

/// One signed part URL.
#[derive(Clone, Debug)]
pub struct SignedPart {
    pub part_number: u32,
    /// The exact length the URL signs; `None` when the session declared no size.
    pub size: Option<u64>,
    pub request: PresignedRequest,
    pub expires_at: DateTime<Utc>,
}

/// How a `complete` call ended, short of an error.
#[derive(Clone, Debug)]
pub enum CompleteOutcome {
    /// Verified (or already past verification): the session as it stands.
    Done(SessionView),
    /// The store could not be asked; a job finishes the verification.
    Deferred(SessionView),
}

impl CompleteOutcome {
    /// Whether the session is past verification and scanning (200), rather than left to
    /// a job (202): a deferred verification, or a verified session the malware scanner
    /// has yet to pass.
    pub fn settled(&self) -> bool {
        match self {
            CompleteOutcome::Done(view) => view.state != UploadState::Scanning,
            CompleteOutcome::Deferred(_) => false,
        }
    }

    /// The session as it stands.
    pub fn into_view(self) -> SessionView {
        match self {
            CompleteOutcome::Done(view) | CompleteOutcome::Deferred(view) => view,
        }
    }
}
