//! Wire types (`*Request` / `*Response`), documented for OpenAPI. Built from core views in
//! one place each; entities never reach the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::config::Disposition;
use sluice_core::file::{DownloadLink, FileView};
use sluice_core::quota::service::{QuotaView, ScopeQuota};
use sluice_core::upload::checksum::Sha256Digest;
use sluice_core::upload::input::{ContentType, DeclaredSize, Filename, Metadata, ProfileName};
use sluice_core::upload::{CreateUpload, CreatedUpload, MultipartView, SessionView, SignedPart};
use utoipa::ToSchema;

pub mod admin;
pub mod batch;
pub mod int;
pub mod own_list;
pub mod schemas;
pub mod webhooks;
pub mod wire;
use uuid::Uuid;
use validator::{Validate, ValidationError};
use wire::{ScanOutcome, SessionState, TransferMethod};

fn default_profile() -> String {
    ProfileName::DEFAULT.into()
}

// Each field's bounds are core's (`sluice_core::upload::input`): its schema is built from
// them (`schemas`, with the field's description there) and `into_core` parses it once.
/// Create an upload session.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    #[serde(default = "default_profile")]
    #[schema(schema_with = create_schemas::profile)]
    pub profile: String,
    #[schema(schema_with = create_schemas::filename)]
    pub filename: String,
    #[serde(deserialize_with = "int::u64")]
    #[schema(schema_with = create_schemas::size)]
    pub size: u64,
    #[schema(schema_with = create_schemas::content_type)]
    pub content_type: Option<String>,
    /// SHA-256 of the content, if known: 64 hex digits (any case) or 44 characters of
    /// standard base64 with padding. Stored and returned as lower-case hex. Where the store
    /// checks checksums (`storage.checksums`), a single PUT signs it as
    /// `x-amz-checksum-sha256` (listed in `put.headers`): the store refuses other bytes,
    /// and completion rejects with `checksum_mismatch` an object whose digest the store
    /// reports otherwise. Required by profiles with `require_checksum`
    /// (`checksum_required`).
    #[validate(custom(function = "validate_sha256"))]
    #[schema(pattern = "^([0-9A-Fa-f]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)$")]
    pub sha256: Option<String>,
    #[schema(schema_with = schemas::metadata)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The schemas of `CreateUploadRequest`'s declared fields, with their descriptions.
mod create_schemas {
    use super::schemas;
    use utoipa::openapi::Object;

    pub fn profile() -> Object {
        schemas::described(schemas::profile(), "Upload profile; `default` when absent.")
    }

    pub fn filename() -> Object {
        schemas::described(
            schemas::filename(),
            "The file's original name; sanitised and restored on download.",
        )
    }

    pub fn size() -> Object {
        schemas::described(
            schemas::size(),
            "Exact size in bytes; the upload URL signs it. At most the profile's `max_size`.",
        )
    }

    pub fn content_type() -> Object {
        schemas::described(
            schemas::content_type(),
            "Media type; the upload URL signs it. Absent or empty: guessed from the filename's
extension, else `application/octet-stream` (browsers leave `File.type` empty for
unknown extensions). Normalised as SigV4 reads a header: `type/subtype` lower-cased,
spaces around it and before the first `;` dropped, runs of spaces in the parameters
cut to one; the response's `content_type` (and `put.headers`) carry the result, the
exact header to send.",
        )
    }
}

impl CreateUploadRequest {
    /// The request as core takes it, each field parsed once (a refusal names its field:
    /// 422 `validation_failed`).
    pub fn into_core(self) -> Result<CreateUpload, sluice_core::error::CoreError> {
        Ok(CreateUpload {
            profile: ProfileName::parse(&self.profile)?,
            filename: Filename::parse(&self.filename)?,
            size: DeclaredSize::exact(self.size)?,
            content_type: ContentType::bounded(self.content_type, "content_type")?,
            sha256: self.sha256,
            metadata: Metadata::parse(self.metadata.unwrap_or_default())?,
        })
    }
}

/// Text without NUL (PostgreSQL stores none), as a JSON Schema pattern.
pub const NO_NUL: &str = sluice_core::upload::input::NO_NUL_PATTERN;

fn validate_sha256(value: &str) -> Result<(), ValidationError> {
    match Sha256Digest::parse(value) {
        Some(_) => Ok(()),
        None => Err(ValidationError::new("sha256")
            .with_message("must be 64 hex digits or 44 characters of padded base64".into())),
    }
}

/// How to PUT the bytes: send exactly these headers, they are signed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PutInstructions {
    pub url: String,
    /// `content-type`, `content-length`, and where they apply `if-none-match: *` (a
    /// one-time URL) and `x-amz-checksum-sha256` (the declared digest, base64, where the
    /// store checks checksums).
    pub headers: BTreeMap<String, String>,
}

/// How a multipart upload is cut: every part but the last is `part_size` bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MultipartPlan {
    pub upload_id: String,
    pub part_size: u64,
    pub part_count: u32,
}

impl From<MultipartView> for MultipartPlan {
    fn from(m: MultipartView) -> Self {
        Self {
            upload_id: m.upload_id,
            part_size: m.part_size,
            part_count: m.part_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateUploadResponse {
    pub id: Uuid,
    #[schema(value_type = String, example = "pending")]
    pub state: SessionState,
    pub key: String,
    /// The content type the upload is signed with (declared or guessed).
    pub content_type: String,
    pub expires_at: DateTime<Utc>,
    #[schema(value_type = String, example = "put")]
    pub method: TransferMethod,
    /// Present when `method` is `put`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub put: Option<PutInstructions>,
    /// Present when `method` is `multipart`; sign parts with `POST /v1/uploads/{id}/parts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartPlan>,
    /// The batch it belongs to, when created by `POST /v1/uploads/batch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<Uuid>,
}

impl From<CreatedUpload> for CreateUploadResponse {
    fn from(c: CreatedUpload) -> Self {
        Self {
            id: c.session.id.0,
            state: c.session.state.into(),
            key: c.session.key,
            content_type: c.session.content_type,
            expires_at: c.session.expires_at,
            method: c.session.method.into(),
            put: c.put.map(|put| PutInstructions {
                url: put.url,
                headers: put.headers,
            }),
            multipart: c.session.multipart.map(MultipartPlan::from),
            batch_id: c.session.batch_id,
        }
    }
}

/// Which part URLs to sign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignPartsRequest {
    /// Part numbers, 1-based, within the upload's `part_count`; 1 to 1000 of them.
    #[serde(deserialize_with = "int::vec_u32")]
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<u32>)]
    pub part_numbers: Vec<u32>,
    /// The SHA-256 of some of those parts, as the client computed it while reading the
    /// file. Where the store checks checksums (`storage.checksums`) the part's URL signs
    /// it as `x-amz-checksum-sha256` (listed in its `headers`): the store refuses other
    /// bytes for that part. Pass the same digests to `complete`. At most 500 a request,
    /// so the body stays within the 64 KiB a JSON body may have.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub part_checksums: Vec<PartChecksum>,
}

/// One part's SHA-256.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartChecksum {
    #[serde(deserialize_with = "int::u32")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub part_number: u32,
    /// Lower-case hex or base64.
    #[schema(pattern = "^([0-9A-Fa-f]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)$")]
    pub sha256: String,
}

/// One signed part URL: PUT exactly `size` bytes with `headers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedPartResponse {
    pub part_number: u32,
    pub url: String,
    /// The exact length the URL signs; absent when the session declared no size (the
    /// store still caps a part at 5 GiB and completion checks the total).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignPartsResponse {
    pub parts: Vec<SignedPartResponse>,
}

impl From<Vec<SignedPart>> for SignPartsResponse {
    fn from(parts: Vec<SignedPart>) -> Self {
        Self {
            parts: parts
                .into_iter()
                .map(|p| SignedPartResponse {
                    part_number: p.part_number,
                    url: p.request.url,
                    size: p.size,
                    headers: p.request.headers,
                    expires_at: p.expires_at,
                })
                .collect(),
        }
    }
}

/// A part the store holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadedPart {
    pub part_number: u32,
    pub size: u64,
    /// Absent where the store does not report part ETags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// An upload session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: Uuid,
    /// pending, verifying, scanning, uploaded, committed, rejected, aborted, expired or
    /// deleted.
    #[schema(value_type = String, example = "uploaded")]
    pub state: SessionState,
    pub profile: String,
    pub filename: String,
    pub size: u64,
    pub content_type: String,
    /// Lower-case hex, as declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// True when the store itself reported the declared `sha256` for the stored object at
    /// verification. False when no digest was declared, the store does not report
    /// checksums (`storage.checksums` off, or a store such as Ceph RGW 16 that ignores
    /// them), or the upload was multipart (no whole-object SHA-256 is signed per part):
    /// then nobody but the client vouches for the digest.
    pub checksum_verified: bool,
    pub metadata: BTreeMap<String, String>,
    /// The object key the session's bytes are read from: the upload key, or once a
    /// rewritable upload was verified, its sealed copy (`{key}.verified`), which no URL
    /// can write.
    pub key: String,
    #[schema(value_type = String, example = "put")]
    pub method: TransferMethod,
    /// Why verification (or the malware scanner) rejected the object, when `state` is
    /// `rejected`: one of the error codes, such as `size_mismatch` or `malware_detected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// For profiles that scan, once the scanner passed the bytes: `clean`, or
    /// `unscanned` (larger than the scanner reads, passed as the profile allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanOutcome>,
    /// The cut, for multipart uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartPlan>,
    /// For a pending multipart upload read with `?parts=true`: the parts the store
    /// already holds, to resume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_parts: Option<Vec<UploadedPart>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Deadline of the current state.
    pub expires_at: DateTime<Utc>,
    /// The batch (`POST /v1/uploads/batch`) that created the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<Uuid>,
}

impl From<SessionView> for SessionResponse {
    fn from(s: SessionView) -> Self {
        Self {
            id: s.id.0,
            state: s.state.into(),
            profile: s.profile,
            filename: s.filename,
            size: s.size,
            content_type: s.content_type,
            sha256: s.sha256,
            checksum_verified: s.checksum_verified,
            metadata: s.metadata,
            key: s.key,
            method: s.method.into(),
            failure: s.failure.map(|f| f.code().to_owned()),
            scan: s.scan.map(ScanOutcome::from),
            multipart: s.multipart.map(MultipartPlan::from),
            uploaded_parts: s.uploaded_parts.map(|parts| {
                parts
                    .into_iter()
                    .map(|p| UploadedPart {
                        part_number: p.part_number,
                        size: p.size,
                        etag: p.etag,
                    })
                    .collect()
            }),
            created_at: s.created_at,
            updated_at: s.updated_at,
            expires_at: s.expires_at,
            batch_id: s.batch_id,
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
    #[serde(deserialize_with = "int::u32")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub part_number: u32,
    #[schema(max_length = 1024)]
    pub etag: String,
    /// The part's SHA-256 (hex or base64), as given when it was signed: sent on in
    /// CompleteMultipartUpload where the store checks checksums.
    #[serde(default)]
    #[schema(pattern = "^([0-9A-Fa-f]{64}|[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)$")]
    pub sha256: Option<String>,
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
    /// Lower-case hex, as declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// True when the store itself reported the declared `sha256` at verification (see
    /// the session's `checksum_verified`).
    pub checksum_verified: bool,
    /// The object key the file's bytes are read from (a sealed copy for rewritable
    /// uploads): it never changes after verification.
    pub key: String,
    pub created_at: DateTime<Utc>,
    /// For profiles that scan: `clean`, or `unscanned` (larger than the scanner reads,
    /// passed as the profile allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanOutcome>,
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
            checksum_verified: f.checksum_verified,
            key: f.key,
            created_at: f.created_at,
            scan: f.scan.map(ScanOutcome::from),
        }
    }
}

/// How a download presents the file: `attachment` (save) or `inline` (display).
#[derive(ToSchema)]
#[schema(as = Disposition)]
#[allow(dead_code)] // documents the wire values of `Disposition` for the spec
pub enum DispositionName {
    #[schema(rename = "attachment")]
    Attachment,
    #[schema(rename = "inline")]
    Inline,
}

/// Options of reading a session.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetUploadQuery {
    /// `true` lists the parts the store holds for a pending multipart upload
    /// (`uploaded_parts`), to resume after losing everything but the id. That is a billed
    /// store request, so it is made only when asked. Default `false`.
    pub parts: Option<bool>,
}

/// Options of a download link; both default to the profile's settings.
#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DownloadUrlRequest {
    /// `attachment` (save) or `inline` (display). `inline` holds only for types a browser
    /// renders passively (images but SVG, audio, video, `application/pdf`, `text/plain`,
    /// `text/csv`); any other type is served as an attachment unless its profile sets
    /// `inline_active_content`.
    #[schema(value_type = Option<DispositionName>)]
    #[param(value_type = Option<DispositionName>)]
    pub disposition: Option<Disposition>,
    /// Lifetime of the URL in seconds, at most the profile's `download_ttl` (default 600).
    #[serde(default, deserialize_with = "int::opt_u64")]
    #[schema(minimum = 1, maximum = 604_800)]
    #[param(minimum = 1, maximum = 604_800)]
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

/// Limits of one scope; absent means unlimited.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_uploads: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
}

/// Usage of one scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUsage {
    /// Uploads created today (UTC) that did not end rejected, aborted or expired.
    pub uploads_today: u64,
    /// Their bytes.
    pub bytes_today: u64,
    /// Bytes of verified uploads (uploaded or committed).
    pub stored_bytes: u64,
    /// Bytes of uploads in progress (pending or verifying).
    pub reserved_bytes: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeQuotaResponse {
    /// The profile; absent for the owner's total across profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub limits: QuotaLimits,
    pub usage: QuotaUsage,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaResponse {
    pub owner: String,
    /// When the daily counters start afresh (the next UTC midnight).
    pub resets_at: DateTime<Utc>,
    pub total: ScopeQuotaResponse,
    pub profiles: Vec<ScopeQuotaResponse>,
}

impl From<ScopeQuota> for ScopeQuotaResponse {
    fn from(s: ScopeQuota) -> Self {
        Self {
            profile: s.profile,
            limits: QuotaLimits {
                daily_uploads: s.limits.daily_uploads,
                daily_bytes: s.limits.daily_bytes,
                stored_bytes: s.limits.stored_bytes,
            },
            usage: QuotaUsage {
                uploads_today: s.usage.uploads_today,
                bytes_today: s.usage.bytes_today,
                stored_bytes: s.usage.stored_bytes,
                reserved_bytes: s.usage.reserved_bytes,
            },
        }
    }
}

impl From<QuotaView> for QuotaResponse {
    fn from(q: QuotaView) -> Self {
        Self {
            owner: q.owner,
            resets_at: q.resets_at,
            total: q.total.into(),
            profiles: q.profiles.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// utoipa takes only a literal pattern: it must be the one the core's parser matches.
    #[test]
    fn the_sha256_pattern_is_the_one_the_core_documents() {
        let schema = <super::CreateUploadRequest as utoipa::PartialSchema>::schema();
        let text = serde_json::to_string(&schema).expect("schema serialises");
        let pattern = serde_json::to_string(sluice_core::upload::checksum::SHA256_PATTERN)
            .expect("pattern serialises");
        assert!(text.contains(&pattern), "{text}");
    }
}
