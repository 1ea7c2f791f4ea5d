//! The object store seen from Sluice: presigning (offline, no network) and the few calls
//! Sluice makes itself (HEAD, DELETE, a bucket probe). Sluice never moves file bytes
//! through here; `embedded` is the separate listener that plays the store in embedded mode.

pub mod embedded;
mod s3;

pub use s3::S3Store;

use std::collections::BTreeMap;

/// Conditions the presigned PUT signs, so the store itself refuses anything else.
#[derive(Clone, Debug)]
pub struct PutConditions {
    pub content_type: String,
    pub content_length: u64,
    /// Sign `If-None-Match: *`: the store refuses a second write to the key.
    pub one_time: bool,
}

/// A presigned request: the URL and the headers the client must send with it verbatim.
#[derive(Clone, Debug)]
pub struct PresignedRequest {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

/// Response overrides a presigned GET asks the store to apply.
#[derive(Clone, Debug)]
pub struct GetOverrides {
    pub content_disposition: String,
    pub content_type: String,
}

/// What a HEAD tells about a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
}

/// Why the bucket probe failed, worded for an operator.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("bucket `{0}` does not exist at the store")]
    NoSuchBucket(String),
    #[error("the store refused the credentials: {0}")]
    Denied(String),
    #[error("the store is unreachable: {0}")]
    Unreachable(String),
}
