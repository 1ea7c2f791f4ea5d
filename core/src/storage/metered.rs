//! `MeteredStore`: every store call counted by store, operation and outcome, every URL
//! signed counted by store and kind. Wraps whatever stores a `Core` is given, so counts
//! are complete.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Instrument;

use super::{
    GetOverrides, MultipartListing, ObjectMeta, ObjectStore, PartEtag, PresignedPost,
    PresignedRequest, PutConditions, StoreError, StoredPart,
};
use crate::metrics::Metrics;

#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    metrics: Arc<Metrics>,
    /// The store's configured name, the `store` label.
    name: String,
}

impl MeteredStore {
    pub fn new(name: &str, inner: Arc<dyn ObjectStore>, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            metrics,
            name: name.to_owned(),
        }
    }

    fn count<T>(&self, operation: &str, result: &Result<T, StoreError>, found: bool) {
        let outcome = match result {
            Ok(_) if found => "ok",
            Ok(_) => "not_found",
            Err(e) => outcome_of(e),
        };
        self.metrics
            .store_ops
            .with_label_values(&[self.name.as_str(), operation, outcome])
            .inc();
    }

    /// A span for one call to the store, when telemetry is on (`Span::none()` otherwise:
    /// free).
    fn span(&self, operation: &'static str) -> tracing::Span {
        if crate::telemetry::enabled() {
            tracing::info_span!("store", store = %self.name, operation)
        } else {
            tracing::Span::none()
        }
    }

    fn signed(&self, kind: &str) {
        self.metrics
            .presigns
            .with_label_values(&[self.name.as_str(), kind])
            .inc();
    }
}

/// A closed set of outcome labels.
fn outcome_of(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound => "not_found",
        StoreError::NoSuchBucket => "no_such_bucket",
        StoreError::PreconditionFailed => "precondition_failed",
        StoreError::AccessDenied(_) => "access_denied",
        StoreError::Throttled => "throttled",
        StoreError::Unreachable(_) => "unreachable",
        StoreError::ServerError { .. } => "server_error",
        StoreError::NoSuchUpload => "no_such_upload",
        StoreError::InvalidPart(_) => "invalid_part",
        StoreError::NotImplemented => "not_implemented",
        StoreError::Refused { .. } => "refused",
        StoreError::Client(_) => "client_error",
        StoreError::Unconfigured(_) => "unconfigured",
    }
}

#[async_trait]
impl ObjectStore for MeteredStore {
    fn bucket_name(&self) -> &str {
        self.inner.bucket_name()
    }

    async fn presign_put(
        &self,
        key: &str,
        conditions: &PutConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.signed("put");
        self.inner.presign_put(key, conditions, ttl).await
    }

    async fn presign_post(
        &self,
        key: &str,
        content_type: &str,
        sizes: (u64, u64),
        ttl: Duration,
    ) -> Result<PresignedPost, StoreError> {
        self.signed("post");
        self.inner.presign_post(key, content_type, sizes, ttl).await
    }

    async fn presign_get(
        &self,
        key: &str,
        overrides: &GetOverrides,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        self.signed("get");
        self.inner.presign_get(key, overrides, ttl).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let result = self.inner.head(key).instrument(self.span("head")).await;
        let found = matches!(result, Ok(Some(_)));
        self.count("head", &result, found);
        result
    }

    async fn read_prefix(&self, key: &str, len: u64) -> Result<Option<Bytes>, StoreError> {
        let result = self
            .inner
            .read_prefix(key, len)
            .instrument(self.span("get"))
            .await;
        let found = matches!(result, Ok(Some(_)));
        self.count("get", &result, found);
        result
    }

    async fn bucket_config(&self, subresource: &str) -> Result<Option<String>, StoreError> {
        let result = self
            .inner
            .bucket_config(subresource)
            .instrument(self.span("get_config"))
            .await;
        let found = matches!(result, Ok(Some(_)));
        self.count("get_config", &result, found);
        result
    }

    async fn get_stream(&self, key: &str) -> Result<Option<super::ByteStream>, StoreError> {
        let result = self
            .inner
            .get_stream(key)
            .instrument(self.span("get"))
            .await;
        let found = matches!(result, Ok(Some(_)));
        self.count("get", &result, found);
        result
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let result = self.inner.delete(key).instrument(self.span("delete")).await;
        self.count("delete", &result, true);
        result
    }

    async fn delete_many(&self, keys: &[String]) -> Result<Vec<(String, StoreError)>, StoreError> {
        let result = self
            .inner
            .delete_many(keys)
            .instrument(self.span("delete_many"))
            .await;
        self.count("delete_many", &result, true);
        result
    }

    async fn copy(&self, from: &str, to: &str, if_match: Option<&str>) -> Result<(), StoreError> {
        let result = self
            .inner
            .copy(from, to, if_match)
            .instrument(self.span("copy"))
            .await;
        self.count("copy", &result, true);
        result
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let result = self.inner.probe().instrument(self.span("probe")).await;
        self.count("probe", &result, true);
        result
    }

    async fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        let result = self
            .inner
            .create_multipart(key, content_type)
            .instrument(self.span("create_multipart"))
            .await;
        self.count("create_multipart", &result, true);
        result
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        part: &super::PartConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.signed("part");
        self.inner
            .presign_part(key, upload_id, part_number, part, ttl)
            .await
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        let result = self
            .inner
            .list_parts(key, upload_id)
            .instrument(self.span("list_parts"))
            .await;
        self.count("list_parts", &result, true);
        result
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartEtag],
    ) -> Result<(), StoreError> {
        let result = self
            .inner
            .complete_multipart(key, upload_id, parts)
            .instrument(self.span("complete_multipart"))
            .await;
        self.count("complete_multipart", &result, true);
        result
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        let result = self
            .inner
            .abort_multipart(key, upload_id)
            .instrument(self.span("abort_multipart"))
            .await;
        self.count("abort_multipart", &result, true);
        result
    }

    async fn list_multipart_uploads(&self) -> Result<Vec<MultipartListing>, StoreError> {
        let result = self
            .inner
            .list_multipart_uploads()
            .instrument(self.span("list_multipart_uploads"))
            .await;
        self.count("list_multipart_uploads", &result, true);
        result
    }
}
