//! The object store seen from Sluice: the `ObjectStore` seam, presigning (offline, no
//! network) and the few calls Sluice makes itself (HEAD, a ranged GET of the first bytes,
//! DELETE, a bucket probe). The API processes never move file bytes through here beyond
//! the few KiB a magic-byte check reads; only a worker's malware scan streams an object
//! (`get_stream`), in the store's own chunks, never whole in memory.
//!
//! Invariants: errors are typed (`StoreError`) and carry no credentials; a missing object
//! is `Ok(None)` / `Ok(())`, never an error, so jobs that delete twice stay idempotent.

mod error;
mod metered;
mod s3;
pub mod sigv4;
mod stores;
mod xml;

pub use error::StoreError;
pub use metered::MeteredStore;
pub use s3::S3Store;
pub use stores::Stores;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

/// The `Code` of an S3 error document (empty when there is none).
pub(crate) fn xml_code(body: &str) -> String {
    xml::field(body, "Code").unwrap_or_default()
}

/// An object's bytes as they arrive from the store.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, StoreError>> + Send>>;

/// Conditions the presigned PUT signs, so the store itself refuses anything else.
#[derive(Clone, Debug)]
pub struct PutConditions {
    pub content_type: String,
    pub content_length: u64,
    /// Sign `If-None-Match: *`: the store refuses a second write to the key.
    pub one_time: bool,
    /// Sign `x-amz-checksum-sha256` with this base64 digest: a store that checks
    /// checksums refuses other bytes. Only where `storage.checksums` says it does.
    pub checksum_sha256: Option<String>,
}

/// Conditions a part URL signs.
#[derive(Clone, Debug, Default)]
pub struct PartConditions {
    /// The part's exact length; `None` when the session declared no size.
    pub size: Option<u64>,
    /// The part's SHA-256, base64, signed as `x-amz-checksum-sha256`. Only where
    /// `storage.checksums` says the store checks it.
    pub checksum_sha256: Option<String>,
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

pub use sigv4::PresignedPost;

/// A part the store holds for a multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPart {
    pub part_number: u32,
    pub size: u64,
    /// Some stores (the embedded one) do not report part ETags.
    pub etag: Option<String>,
}

/// A part named in a CompleteMultipartUpload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartEtag {
    pub part_number: u32,
    /// The part's SHA-256 (base64) the client declared when the part was signed, sent in
    /// CompleteMultipartUpload where the store checks checksums.
    pub checksum_sha256: Option<String>,
    /// Empty where neither the store nor the client knows it (stores that omit ETags do
    /// not check them either).
    pub etag: String,
}

/// A multipart upload in progress in the bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartListing {
    pub key: String,
    pub upload_id: String,
    /// When it was created; `None` if the store's date could not be read.
    pub initiated: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a HEAD tells about a stored object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    /// The `x-amz-checksum-sha256` the store reports (base64; for a multipart object
    /// possibly a checksum of checksums ending in `-N`). Asked for only where
    /// `storage.checksums` is on; `None` where the store reports none.
    pub checksum_sha256: Option<String>,
}

/// An S3-compatible bucket. `S3Store` is the one real implementation (it also fronts the
/// embedded store, which speaks S3 on its own listener); tests may wrap it to produce
/// faults a real store cannot be made to produce on demand.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The bucket's name, for logs and the start-up banner.
    fn bucket_name(&self) -> &str;

    /// A PUT URL signing the content type, the exact length, for one-time URLs
    /// `If-None-Match: *` and, when given, `x-amz-checksum-sha256`.
    async fn presign_put(
        &self,
        key: &str,
        conditions: &PutConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError>;

    /// A browser-form POST (a POST policy) for exactly `key` and `content_type`, of a
    /// size in `min..=max`. `NotImplemented` where the store takes no POST policies.
    async fn presign_post(
        &self,
        key: &str,
        content_type: &str,
        sizes: (u64, u64),
        ttl: Duration,
    ) -> Result<PresignedPost, StoreError>;

    /// A GET URL whose response carries the given disposition and content type.
    async fn presign_get(
        &self,
        key: &str,
        overrides: &GetOverrides,
        ttl: Duration,
    ) -> Result<String, StoreError>;

    /// HEADs an object; `Ok(None)` when nothing is stored under the key.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError>;

    /// The first `len` bytes of an object (fewer if it is shorter), in one ranged GET;
    /// `Ok(None)` when nothing is stored under the key.
    async fn read_prefix(&self, key: &str, len: u64) -> Result<Option<Bytes>, StoreError>;

    /// The whole object as a stream of chunks, in one GET (for a worker's scan);
    /// `Ok(None)` when nothing is stored under the key.
    async fn get_stream(&self, key: &str) -> Result<Option<ByteStream>, StoreError>;

    /// Deletes an object; deleting what is not there succeeds.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes `keys` with DeleteObjects, up to 1,000 a request; a key that is not there
    /// counts as deleted. Answers the keys that could not be deleted, each with why;
    /// `Err` when a request itself failed, and `NotImplemented` where the store takes no
    /// DeleteObjects (use `delete_keys`, which then deletes key by key).
    async fn delete_many(&self, keys: &[String]) -> Result<Vec<(String, StoreError)>, StoreError>;

    /// Copies the object `from` to `to` inside the bucket, server-side, only if `from`
    /// still has the ETag `if_match` (when given): `PreconditionFailed` when it changed
    /// meanwhile. Used to seal verified bytes under a key no URL can write; no byte of
    /// the object passes through Sluice.
    async fn copy(&self, from: &str, to: &str, if_match: Option<&str>) -> Result<(), StoreError>;

    /// Checks that the store answers and the bucket exists (start-up and `/readyz`).
    async fn probe(&self) -> Result<(), StoreError>;

    /// The bucket's configuration document `subresource` (`cors`, `lifecycle`) as the
    /// store returns it; `Ok(None)` when the bucket has none (`sluice doctor`).
    async fn bucket_config(&self, subresource: &str) -> Result<Option<String>, StoreError>;

    /// Starts a multipart upload of `key`; returns its upload id.
    async fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError>;

    /// A PUT URL for one part, signing its exact length when it is known and, when
    /// given, its `x-amz-checksum-sha256` (a store that checks refuses other bytes).
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        part: &PartConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError>;

    /// Every part the store holds for the upload, every page, by part number.
    /// `NoSuchUpload` when the upload is gone (completed or aborted).
    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError>;

    /// Assembles the object from `parts` (in part-number order).
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartEtag],
    ) -> Result<(), StoreError>;

    /// Aborts the upload and drops its parts; aborting what is gone succeeds.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError>;

    /// Every multipart upload in progress in the bucket, every page. `NotImplemented`
    /// where the store cannot list them.
    async fn list_multipart_uploads(&self) -> Result<Vec<MultipartListing>, StoreError>;
}

/// Deletes `keys`: in DeleteObjects batches where the store takes them, else one DELETE
/// per key (each its own billed request). Answers the keys that could not be deleted,
/// each with why; an outage stops the round (the rest would fail alike).
pub async fn delete_keys(
    store: &dyn ObjectStore,
    keys: &[String],
) -> Result<Vec<(String, StoreError)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    match store.delete_many(keys).await {
        Err(StoreError::NotImplemented) => {}
        other => return other,
    }
    let mut failed = Vec::new();
    for key in keys {
        match store.delete(key).await {
            Ok(()) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => failed.push((key.clone(), e)),
        }
    }
    Ok(failed)
}
