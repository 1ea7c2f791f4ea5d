//! A HEAD that asks for the object's checksum (`x-amz-checksum-mode: ENABLED`). rust-s3's
//! `head_object` neither sends the header nor reads `x-amz-checksum-sha256` back, so the
//! request is presigned with Sluice's own signer (the header signed) and sent with the
//! HTTP client rust-s3 already holds.
//!
//! Invariant: answers exactly as `S3Store::head` does otherwise (a missing object is
//! `Ok(None)`, errors are classified), plus the reported digest when there is one.

use std::time::Duration;

use super::{S3Store, classify};
use crate::storage::{ObjectMeta, StoreError};

const MODE: (&str, &str) = ("x-amz-checksum-mode", "ENABLED");

/// How long the HEAD's own URL lives: it is sent at once.
const URL_TTL: Duration = Duration::from_secs(60);

pub(super) async fn with_checksum(
    store: &S3Store,
    key: &str,
) -> Result<Option<ObjectMeta>, StoreError> {
    let url = store.sign("HEAD", key, &[MODE], &[], URL_TTL);
    let response = store
        .bucket
        .http_client()
        .head(url)
        .header(MODE.0, MODE.1)
        .timeout(store.request_timeout)
        .send()
        .await
        .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        // A HEAD answer has no body to read a code from: the status says it all.
        return match StoreError::from_response(status, "") {
            StoreError::NotFound => Ok(None),
            other => Err(other),
        };
    }
    let headers = response.headers();
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Some(ObjectMeta {
        size: text("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        content_type: text("content-type"),
        etag: text("etag"),
        checksum_sha256: text("x-amz-checksum-sha256"),
    }))
}
