//! CopyObject inside the bucket, server-side, conditional on the source's ETag
//! (`x-amz-copy-source-if-match`). rust-s3's copy sends no condition, so the request is
//! presigned with Sluice's own signer (both headers signed) and sent with the HTTP client
//! rust-s3 already holds. No byte of the object passes through Sluice.
//!
//! Invariant: a copy answered `200` whose body is an `<Error>` (S3 may report a failure
//! of a long copy that way) is an error, classified like any other answer.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{S3Store, classify};
use crate::storage::StoreError;

/// How long the copy's own URL lives: it is sent at once.
const URL_TTL: Duration = Duration::from_secs(60);

/// What stays literal in the copy source: unreserved characters and the key's slashes.
const SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub(super) async fn copy(
    store: &S3Store,
    from: &str,
    to: &str,
    if_match: Option<&str>,
) -> Result<(), StoreError> {
    let source = format!(
        "/{}/{}",
        store.bucket.name,
        utf8_percent_encode(from, SOURCE)
    );
    // Sorted by name, as the signer wants them.
    let mut signed: Vec<(&str, &str)> = vec![("x-amz-copy-source", source.as_str())];
    if let Some(etag) = if_match {
        signed.push(("x-amz-copy-source-if-match", etag));
    }
    let url = store.sign("PUT", to, &signed, &[], URL_TTL);
    let mut request = store
        .bucket
        .http_client()
        .put(url)
        .timeout(store.request_timeout);
    for (name, value) in &signed {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| classify(s3::error::S3Error::Reqwest(e)))?;
    if !(200..300).contains(&status) || body.contains("<Error>") {
        let status = if (200..300).contains(&status) {
            500
        } else {
            status
        };
        return Err(StoreError::from_response(status, &body));
    }
    Ok(())
}
