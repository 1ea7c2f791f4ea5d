//! `S3Store`: the `ObjectStore` over rust-s3 (`s3`), the one client here that signs
//! `Content-Length` into a presigned PUT. Works with any S3-compatible endpoint; IP and
//! localhost endpoints (the embedded store, Ceph on loopback) are addressed path-style.
//!
//! Invariants: errors are classified into `StoreError` and carry no credentials; a
//! missing object is `Ok(None)` / `Ok(())`, never an error, so jobs that delete twice stay
//! idempotent; rust-s3's own retries are off, because Sluice's job system retries with
//! its own schedule and a request handler should learn of an outage at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};

use secrecy::{ExposeSecret, SecretString};

use super::sigv4::{Endpoint, PostConditions, Presigner, Request};

mod copy;
mod delete_many;
mod head;
mod multipart;

use super::{
    GetOverrides, MultipartListing, ObjectMeta, ObjectStore, PartEtag, PresignedPost,
    PresignedRequest, PutConditions, StoreError, StoredPart,
};
use crate::clock::{Clock, SystemClock};
use crate::config::StorageSettings;

#[derive(Clone)]
pub struct S3Store {
    bucket: Box<Bucket>,
    /// Sluice's own SigV4 signer, for what rust-s3 cannot sign (POST policies over 4 GiB).
    presigner: Arc<Presigner>,
    /// Whether the store takes browser-form POST policies (`storage.post_policy`).
    post_policy: bool,
    /// Whether HEADs ask for the object's checksum (`storage.checksums`).
    checksums: bool,
    /// Timeout of one call Sluice sends itself rather than through rust-s3.
    request_timeout: Duration,
    /// Set once the store answered ListMultipartUploads with 501 (the embedded store
    /// does): asking again every sweep would only fill the store's logs with errors.
    cannot_list_multipart: Arc<AtomicBool>,
    /// Whether to send DeleteObjects (`storage.delete_objects`).
    delete_objects: bool,
    /// Set once the store answered DeleteObjects with NotImplemented.
    cannot_delete_objects: Arc<AtomicBool>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket.name)
            .field("endpoint", &self.bucket.region.endpoint())
            .finish()
    }
}

impl S3Store {
    /// Builds the client. `endpoint` overrides `settings.endpoint` (the embedded store's
    /// address is only known once it is bound).
    pub fn new(settings: &StorageSettings, endpoint: Option<&str>) -> Result<Self, StoreError> {
        // Process-wide in rust-s3; Sluice retries through its jobs instead (see above).
        s3::set_retries(0);
        let endpoint = endpoint
            .or(settings.endpoint.as_deref())
            .ok_or_else(|| StoreError::Client("no storage endpoint".into()))?
            .trim_end_matches('/')
            .to_owned();
        let region = Region::Custom {
            region: settings.region.clone(),
            endpoint: endpoint.clone(),
        };
        let credentials = Credentials::new(
            settings.access_key_id.as_deref(),
            settings
                .secret_access_key
                .as_ref()
                .map(|s| s.expose_secret()),
            None,
            None,
            None,
        )
        .map_err(|e| StoreError::Client(format!("credentials: {e}")))?;
        let bucket = Bucket::new(&settings.bucket, region, credentials)
            .map_err(|e| StoreError::Client(e.to_string()))?;
        let path_style =
            settings.force_path_style || settings.is_embedded() || host_is_literal(&endpoint);
        let bucket = if path_style {
            bucket.with_path_style()
        } else {
            bucket
        };
        let bucket = bucket
            .with_request_timeout(settings.request_timeout.get())
            .map_err(|e| StoreError::Client(e.to_string()))?;
        let presigner = Presigner::new(
            signing_endpoint(&endpoint, &settings.bucket, &settings.region, path_style),
            settings.access_key_id.as_deref().unwrap_or_default(),
            settings
                .secret_access_key
                .clone()
                .unwrap_or_else(|| SecretString::from("")),
        );
        Ok(Self {
            bucket,
            presigner: Arc::new(presigner),
            post_policy: settings.post_policy,
            checksums: settings.checksums(),
            request_timeout: settings.request_timeout.get(),
            cannot_list_multipart: Arc::new(AtomicBool::new(false)),
            delete_objects: settings.delete_objects,
            cannot_delete_objects: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl S3Store {
    /// Signs one URL with Sluice's own presigner (`sigv4`): headers and query sorted by
    /// name. The time is the wall clock, not the core's: the store judges a URL by its
    /// own real time, and a test clock jumped past a deadline must not sign URLs the
    /// store takes for ones from the future.
    fn sign(
        &self,
        method: &str,
        key: &str,
        headers: &[(&str, &str)],
        query: &[(&str, &str)],
        ttl: Duration,
    ) -> String {
        let request = Request {
            method,
            key,
            headers,
            query,
            expires_secs: presign_secs(ttl),
        };
        self.presigner.presign(&request, SystemClock.now())
    }
}

/// Where URLs are signed for: the endpoint's scheme and authority, and the bucket either in
/// the path or in front of the host.
fn signing_endpoint(endpoint: &str, bucket: &str, region: &str, path_style: bool) -> Endpoint {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("https", endpoint));
    let authority = rest.split('/').next().unwrap_or(rest).to_owned();
    if path_style {
        Endpoint {
            base: format!("{scheme}://{authority}"),
            host: authority,
            bucket_path: format!("/{bucket}"),
            bucket: bucket.to_owned(),
            region: region.to_owned(),
        }
    } else {
        let host = format!("{bucket}.{authority}");
        Endpoint {
            base: format!("{scheme}://{host}"),
            host,
            bucket_path: String::new(),
            bucket: bucket.to_owned(),
            region: region.to_owned(),
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn bucket_name(&self) -> &str {
        &self.bucket.name
    }

    async fn presign_put(
        &self,
        key: &str,
        conditions: &PutConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let length = conditions.content_length.to_string();
        // Sorted by name, as the signer wants them.
        let mut signed: Vec<(&str, &str)> = Vec::with_capacity(4);
        signed.push(("content-length", &length));
        signed.push(("content-type", &conditions.content_type));
        if conditions.one_time {
            signed.push(("if-none-match", "*"));
        }
        if let Some(digest) = &conditions.checksum_sha256 {
            signed.push(("x-amz-checksum-sha256", digest));
        }
        let url = self.sign("PUT", key, &signed, &[], ttl);
        let headers = signed
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Ok(PresignedRequest { url, headers })
    }

    async fn presign_post(
        &self,
        key: &str,
        content_type: &str,
        sizes: (u64, u64),
        ttl: Duration,
    ) -> Result<PresignedPost, StoreError> {
        if !self.post_policy {
            return Err(StoreError::NotImplemented);
        }
        let conditions = PostConditions {
            key,
            content_type,
            min_size: sizes.0,
            max_size: sizes.1,
            expires_secs: presign_secs(ttl),
        };
        Ok(self.presigner.presign_post(&conditions, SystemClock.now()))
    }

    async fn presign_get(
        &self,
        key: &str,
        overrides: &GetOverrides,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        let query = [
            (
                "response-content-disposition",
                overrides.content_disposition.as_str(),
            ),
            ("response-content-type", overrides.content_type.as_str()),
        ];
        Ok(self.sign("GET", key, &[], &query, ttl))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        if self.checksums {
            return head::with_checksum(self, key).await;
        }
        match self.bucket.head_object(key).await.map_err(classify) {
            Ok((head, status)) if (200..300).contains(&status) => Ok(Some(ObjectMeta {
                size: head
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                content_type: head.content_type,
                etag: head.e_tag,
                checksum_sha256: None,
            })),
            Ok((_, status)) => match StoreError::from_response(status, "") {
                StoreError::NotFound => Ok(None),
                other => Err(other),
            },
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read_prefix(&self, key: &str, len: u64) -> Result<Option<Bytes>, StoreError> {
        let last = len.max(1) - 1;
        match self.bucket.get_object_range(key, 0, Some(last)).await {
            Ok(response) => Ok(Some(response.bytes().clone())),
            // An empty object has no byte 0: the range is unsatisfiable, the prefix empty.
            Err(S3Error::HttpFailWithBody(416, _)) => Ok(Some(Bytes::new())),
            Err(e) => match classify(e) {
                StoreError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn get_stream(&self, key: &str) -> Result<Option<super::ByteStream>, StoreError> {
        use futures::TryStreamExt;
        // Not rust-s3's `get_object_stream`: its request timeout (`storage.request_timeout`,
        // 10 s) covers the whole body, so any object that takes longer to stream failed
        // every time (seen: a 1 GiB scan). The answer's headers must come within it; the
        // body has no total bound, and its readers bound each piece (`scanner.timeout`).
        let url = self.sign("GET", key, &[], &[], Duration::from_secs(3600));
        let sent = self.bucket.http_client().get(url).send();
        let response = tokio::time::timeout(self.request_timeout, sent)
            .await
            .map_err(|_| {
                StoreError::Unreachable("no answer within storage.request_timeout".into())
            })?
            .map_err(|e| classify(S3Error::Reqwest(e)))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response.text().await.unwrap_or_default();
            return match StoreError::from_response(status, &body) {
                StoreError::NotFound => Ok(None),
                other => Err(other),
            };
        }
        Ok(Some(Box::pin(
            response
                .bytes_stream()
                .map_err(|e| classify(S3Error::Reqwest(e))),
        )))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.bucket.delete_object(key).await.map_err(classify) {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_many(&self, keys: &[String]) -> Result<Vec<(String, StoreError)>, StoreError> {
        delete_many::delete_many(self, keys).await
    }

    async fn copy(&self, from: &str, to: &str, if_match: Option<&str>) -> Result<(), StoreError> {
        copy::copy(self, from, to, if_match).await
    }

    async fn bucket_config(&self, subresource: &str) -> Result<Option<String>, StoreError> {
        let url = self.sign(
            "GET",
            "",
            &[],
            &[(subresource, "")],
            Duration::from_secs(60),
        );
        let response = self
            .bucket
            .http_client()
            .get(url)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| classify(S3Error::Reqwest(e)))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| classify(S3Error::Reqwest(e)))?;
        if (200..300).contains(&status) {
            return Ok(Some(body));
        }
        // NoSuchCORSConfiguration, NoSuchLifecycleConfiguration: the bucket has none.
        match StoreError::from_response(status, &body) {
            StoreError::NotFound => Ok(None),
            other => Err(other),
        }
    }

    async fn probe(&self) -> Result<(), StoreError> {
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        multipart::create(&self.bucket, key, content_type).await
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        part: &super::PartConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let length = part.size.map(|n| n.to_string());
        // Sorted by name, as the signer wants them.
        let signed: Vec<(&str, &str)> = length
            .as_deref()
            .map(|n| ("content-length", n))
            .into_iter()
            .chain(
                part.checksum_sha256
                    .as_deref()
                    .map(|digest| ("x-amz-checksum-sha256", digest)),
            )
            .collect();
        let number = part_number.to_string();
        let query = [("partNumber", number.as_str()), ("uploadId", upload_id)];
        let url = self.sign("PUT", key, &signed, &query, ttl);
        let headers = signed
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Ok(PresignedRequest { url, headers })
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        multipart::list_parts(&self.bucket, key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartEtag],
    ) -> Result<(), StoreError> {
        if parts.iter().any(|p| p.checksum_sha256.is_some()) {
            multipart::complete_with_checksums(self, key, upload_id, parts).await
        } else {
            multipart::complete(&self.bucket, key, upload_id, parts).await
        }
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        multipart::abort(&self.bucket, key, upload_id).await
    }

    async fn list_multipart_uploads(&self) -> Result<Vec<MultipartListing>, StoreError> {
        if self.cannot_list_multipart.load(Ordering::Relaxed) {
            return Err(StoreError::NotImplemented);
        }
        let listed = multipart::list_uploads(&self.bucket).await;
        if let Err(StoreError::NotImplemented) = listed {
            self.cannot_list_multipart.store(true, Ordering::Relaxed);
        }
        listed
    }
}

/// An IP address or `localhost` cannot carry a bucket as a subdomain, so such endpoints are
/// always addressed path-style.
fn host_is_literal(endpoint: &str) -> bool {
    let authority = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host_port = authority.split('/').next().unwrap_or(authority);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Presigned URLs live a week at most; the profile validation keeps TTLs inside that.
pub(super) fn presign_secs(ttl: Duration) -> u32 {
    u32::try_from(ttl.as_secs().clamp(1, 604_800)).unwrap_or(604_800)
}

/// Classifies a rust-s3 error. Transport failures are outages; an HTTP answer is read for
/// its S3 error code.
pub(super) fn classify(e: S3Error) -> StoreError {
    match e {
        S3Error::HttpFailWithBody(status, body) => StoreError::from_response(status, &body),
        S3Error::Reqwest(e) => StoreError::Unreachable(without_url(&e)),
        S3Error::Io(e) => StoreError::Unreachable(e.to_string()),
        other => StoreError::Client(other.to_string()),
    }
}

/// A reqwest error's text without the URL it quotes: a presigned URL carries a signature.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause = std::error::Error::source(e);
    let mut text = kind.to_owned();
    while let Some(inner) = cause {
        text = format!("{kind}: {inner}");
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::host_is_literal;

    #[test]
    fn ip_and_localhost_endpoints_are_literal_hosts() {
        assert!(host_is_literal("http://127.0.0.1:7480"));
        assert!(host_is_literal("http://localhost:9000/"));
        assert!(host_is_literal("http://[::1]:9000"));
        assert!(!host_is_literal("https://s3.eu-central-1.amazonaws.com"));
        assert!(!host_is_literal("https://account.r2.cloudflarestorage.com"));
    }
}
