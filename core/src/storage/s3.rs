//! `S3Store`: the store adapter over rust-s3 (`s3`), the one client here that signs
//! `Content-Length` into a presigned PUT. Works with any S3-compatible endpoint; the
//! embedded store is addressed path-style.
//!
//! Invariant: errors carry no credentials; a missing object is `Ok(None)` / `Ok(())`,
//! never an error, so jobs that delete twice stay idempotent.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::{Bucket, Region};
use secrecy::ExposeSecret;

use super::{GetOverrides, ObjectMeta, PresignedRequest, ProbeError, PutConditions};
use crate::config::StorageSettings;
use crate::error::{CoreError, CoreResult};

#[derive(Clone)]
pub struct S3Store {
    bucket: Box<Bucket>,
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
    pub fn new(settings: &StorageSettings, endpoint: Option<&str>) -> CoreResult<Self> {
        let endpoint = endpoint
            .or(settings.endpoint.as_deref())
            .ok_or_else(|| CoreError::Internal("no storage endpoint".into()))?
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
        .map_err(|e| CoreError::Internal(format!("storage credentials: {e}")))?;
        let bucket = Bucket::new(&settings.bucket, region, credentials)
            .map_err(|e| CoreError::Internal(format!("storage client: {e}")))?;
        let bucket =
            if settings.force_path_style || settings.is_embedded() || host_is_literal(&endpoint) {
                bucket.with_path_style()
            } else {
                bucket
            };
        let bucket = bucket
            .with_request_timeout(settings.request_timeout.get())
            .map_err(|e| CoreError::Internal(format!("storage client: {e}")))?;
        Ok(Self { bucket })
    }

    pub fn bucket_name(&self) -> &str {
        &self.bucket.name
    }

    /// A PUT URL signing the content type, the exact length and, for one-time URLs,
    /// `If-None-Match: *`.
    pub async fn presign_put(
        &self,
        key: &str,
        conditions: &PutConditions,
        ttl: Duration,
    ) -> CoreResult<PresignedRequest> {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_owned(), conditions.content_type.clone());
        headers.insert(
            "content-length".to_owned(),
            conditions.content_length.to_string(),
        );
        if conditions.one_time {
            headers.insert("if-none-match".to_owned(), "*".to_owned());
        }
        let mut signed = HeaderMap::new();
        for (name, value) in &headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| CoreError::Internal(e.to_string()))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| CoreError::invalid("content_type", "not a valid header value"))?;
            signed.insert(name, value);
        }
        let url = self
            .bucket
            .presign_put(key, presign_secs(ttl), Some(signed), None)
            .await
            .map_err(storage_error)?;
        Ok(PresignedRequest { url, headers })
    }

    /// A GET URL whose response carries the given disposition and content type.
    pub async fn presign_get(
        &self,
        key: &str,
        overrides: &GetOverrides,
        ttl: Duration,
    ) -> CoreResult<String> {
        let mut queries = HashMap::new();
        queries.insert(
            "response-content-disposition".to_owned(),
            overrides.content_disposition.clone(),
        );
        queries.insert(
            "response-content-type".to_owned(),
            overrides.content_type.clone(),
        );
        self.bucket
            .presign_get(key, presign_secs(ttl), Some(queries))
            .await
            .map_err(storage_error)
    }

    /// HEADs an object; `Ok(None)` when nothing is stored under the key.
    pub async fn head(&self, key: &str) -> CoreResult<Option<ObjectMeta>> {
        match self.bucket.head_object(key).await {
            Ok((_, 404)) => Ok(None),
            Ok((head, status)) if (200..300).contains(&status) => Ok(Some(ObjectMeta {
                size: head
                    .content_length
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                content_type: head.content_type,
                etag: head.e_tag,
            })),
            Ok((_, status)) => Err(CoreError::Storage(format!("HEAD answered {status}"))),
            Err(S3Error::HttpFailWithBody(404, _)) => Ok(None),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// Deletes an object; deleting what is not there succeeds.
    pub async fn delete(&self, key: &str) -> CoreResult<()> {
        match self.bucket.delete_object(key).await {
            Ok(response) if response.status_code() < 300 || response.status_code() == 404 => Ok(()),
            Ok(response) => Err(CoreError::Storage(format!(
                "DELETE answered {}",
                response.status_code()
            ))),
            Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(e) => Err(storage_error(e)),
        }
    }

    /// Checks that the store answers and the bucket exists (start-up and `/readyz`).
    pub async fn probe(&self) -> Result<(), ProbeError> {
        match self
            .bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
        {
            Ok(_) => Ok(()),
            Err(S3Error::HttpFailWithBody(404, _)) => {
                Err(ProbeError::NoSuchBucket(self.bucket.name.clone()))
            }
            Err(S3Error::HttpFailWithBody(status @ (401 | 403), body)) => Err(ProbeError::Denied(
                format!("HTTP {status}: {}", first_line(&body)),
            )),
            Err(e) => Err(ProbeError::Unreachable(e.to_string())),
        }
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
fn presign_secs(ttl: Duration) -> u32 {
    u32::try_from(ttl.as_secs().clamp(1, 604_800)).unwrap_or(604_800)
}

fn storage_error(e: S3Error) -> CoreError {
    match e {
        S3Error::HttpFailWithBody(status, body) => {
            CoreError::Storage(format!("HTTP {status}: {}", first_line(&body)))
        }
        other => CoreError::Storage(other.to_string()),
    }
}

fn first_line(body: &str) -> String {
    body.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
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
