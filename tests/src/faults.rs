//! `FaultyStore`: the real store with chosen operations made to fail, for faults a real
//! store cannot be made to produce on demand, such as a HEAD that works while DELETEs
//! fail (a partial outage, or throttling of one operation). Everything not made to fail
//! goes to the real store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sluice_core::storage::{
    GetOverrides, MultipartListing, ObjectMeta, ObjectStore, PartEtag, PresignedPost,
    PresignedRequest, PutConditions, StoreError, StoredPart,
};

/// Which operations fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub delete: bool,
    pub head: bool,
    /// CreateMultipartUpload succeeds at the store but its answer never reaches Sluice:
    /// the store holds an upload no session knows, as if Sluice died in between.
    pub lose_multipart_answer: bool,
    /// Right after the first DELETE or AbortMultipartUpload of a key returns, complete
    /// that key's multipart upload at the store (as a verification racing the cleanup
    /// would): the interleaving that orphans bytes if the cleanup's order is wrong.
    /// One-shot: cleared once it fired.
    pub complete_between_cleanup_steps: bool,
    /// A DeleteObjects answers these keys (any key containing one of them) as failed,
    /// and deletes the others: a partial failure inside one batch.
    pub refuse_deletes_of: Vec<String>,
}

#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Mutex<Faults>>,
    /// The multipart upload of every key this store created one for, so a fault can
    /// complete it.
    uploads: Mutex<HashMap<String, String>>,
}

/// The switch a test keeps to turn faults on and off.
#[derive(Clone, Debug, Default)]
pub struct FaultSwitch(Arc<Mutex<Faults>>);

impl FaultSwitch {
    pub fn set(&self, faults: Faults) {
        *self.0.lock().expect("fault lock") = faults;
    }

    /// Wraps `inner` so that this switch controls its faults.
    pub fn wrap(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(FaultyStore {
            inner,
            faults: self.0.clone(),
            uploads: Mutex::default(),
        })
    }
}

impl FaultyStore {
    fn faults(&self) -> Faults {
        self.faults.lock().expect("fault lock").clone()
    }

    /// The `complete_between_cleanup_steps` fault, after a cleanup step on `key`: the
    /// key's multipart upload is completed from the parts the store holds, if it still
    /// can be. Fires once.
    async fn race_completion(&self, key: &str) {
        {
            let mut faults = self.faults.lock().expect("fault lock");
            if !faults.complete_between_cleanup_steps {
                return;
            }
            faults.complete_between_cleanup_steps = false;
        }
        let upload_id = self.uploads.lock().expect("uploads lock").get(key).cloned();
        let Some(upload_id) = upload_id else { return };
        let Ok(parts) = self.inner.list_parts(key, &upload_id).await else {
            return;
        };
        let etags: Vec<PartEtag> = parts
            .iter()
            .map(|p| PartEtag {
                part_number: p.part_number,
                etag: p.etag.clone().unwrap_or_default(),
                checksum_sha256: None,
            })
            .collect();
        let _ = self.inner.complete_multipart(key, &upload_id, &etags).await;
    }
}

fn outage() -> StoreError {
    StoreError::Unreachable("fault injected by the test".into())
}

#[async_trait]
impl ObjectStore for FaultyStore {
    fn bucket_name(&self) -> &str {
        self.inner.bucket_name()
    }

    async fn presign_put(
        &self,
        key: &str,
        conditions: &PutConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.inner.presign_put(key, conditions, ttl).await
    }

    async fn presign_post(
        &self,
        key: &str,
        content_type: &str,
        sizes: (u64, u64),
        ttl: Duration,
    ) -> Result<PresignedPost, StoreError> {
        self.inner.presign_post(key, content_type, sizes, ttl).await
    }

    async fn presign_get(
        &self,
        key: &str,
        overrides: &GetOverrides,
        ttl: Duration,
    ) -> Result<String, StoreError> {
        self.inner.presign_get(key, overrides, ttl).await
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        if self.faults().head {
            return Err(outage());
        }
        self.inner.head(key).await
    }

    async fn read_prefix(&self, key: &str, len: u64) -> Result<Option<Bytes>, StoreError> {
        if self.faults().head {
            return Err(outage());
        }
        self.inner.read_prefix(key, len).await
    }

    async fn bucket_config(&self, subresource: &str) -> Result<Option<String>, StoreError> {
        self.inner.bucket_config(subresource).await
    }

    async fn get_stream(
        &self,
        key: &str,
    ) -> Result<Option<sluice_core::storage::ByteStream>, StoreError> {
        if self.faults().head {
            return Err(outage());
        }
        self.inner.get_stream(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.faults().delete {
            return Err(outage());
        }
        let result = self.inner.delete(key).await;
        self.race_completion(key).await;
        result
    }

    async fn delete_many(&self, keys: &[String]) -> Result<Vec<(String, StoreError)>, StoreError> {
        if self.faults().delete {
            return Err(outage());
        }
        let refused = self.faults().refuse_deletes_of.clone();
        // The store deletes what it is asked to, except the keys the test names, which
        // it answers as failed in the same response.
        let asked: Vec<String> = keys
            .iter()
            .filter(|k| !refused.iter().any(|r| k.contains(r.as_str())))
            .cloned()
            .collect();
        let mut failed = self.inner.delete_many(&asked).await?;
        for key in keys.iter().filter(|k| !asked.contains(k)) {
            failed.push((
                key.clone(),
                StoreError::AccessDenied("refused by the test".into()),
            ));
        }
        for key in keys {
            self.race_completion(key).await;
        }
        Ok(failed)
    }

    async fn copy(&self, from: &str, to: &str, if_match: Option<&str>) -> Result<(), StoreError> {
        self.inner.copy(from, to, if_match).await
    }

    async fn probe(&self) -> Result<(), StoreError> {
        self.inner.probe().await
    }

    async fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        let upload_id = self.inner.create_multipart(key, content_type).await?;
        self.uploads
            .lock()
            .expect("uploads lock")
            .insert(key.to_owned(), upload_id.clone());
        if self.faults().lose_multipart_answer {
            return Err(outage());
        }
        Ok(upload_id)
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        part: &sluice_core::storage::PartConditions,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.inner
            .presign_part(key, upload_id, part_number, part, ttl)
            .await
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        if self.faults().head {
            return Err(outage());
        }
        self.inner.list_parts(key, upload_id).await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[PartEtag],
    ) -> Result<(), StoreError> {
        self.inner.complete_multipart(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        if self.faults().delete {
            return Err(outage());
        }
        let result = self.inner.abort_multipart(key, upload_id).await;
        self.race_completion(key).await;
        result
    }

    async fn list_multipart_uploads(&self) -> Result<Vec<MultipartListing>, StoreError> {
        self.inner.list_multipart_uploads().await
    }
}
