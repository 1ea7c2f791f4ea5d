//! Deleting many keys: S3 DeleteObjects (1,000 keys a request, one billed request).
//! `NotImplemented` without asking where the store does not take it
//! (`storage.delete_objects = false`, or it answered NotImplemented once): the caller
//! (`storage::delete_keys`) then sends one DELETE per key.
//!
//! Invariant: per-key results are honoured: a key the store reports as failed is
//! answered as failed (its cleanup stays owed), a key it reports missing counts as
//! deleted, and a request that failed as a whole is an error for every key.

use std::sync::atomic::Ordering;

use s3::serde_types::ObjectIdentifier;

use super::{S3Store, classify};
use crate::storage::StoreError;

/// The most keys S3 takes in one DeleteObjects request.
const PER_REQUEST: usize = 1000;

pub(super) async fn delete_many(
    store: &S3Store,
    keys: &[String],
) -> Result<Vec<(String, StoreError)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    if !store.delete_objects || store.cannot_delete_objects.load(Ordering::Relaxed) {
        return Err(StoreError::NotImplemented);
    }
    let mut failed = Vec::new();
    for chunk in keys.chunks(PER_REQUEST) {
        let objects: Vec<ObjectIdentifier> = chunk
            .iter()
            .map(|k| ObjectIdentifier::new(k.clone()))
            .collect();
        match store.bucket.delete_objects(objects).await.map_err(classify) {
            Ok(result) => {
                for error in result.errors {
                    if error.code == "NoSuchKey" {
                        continue;
                    }
                    let why = StoreError::from_response(
                        0,
                        &format!(
                            "<Error><Code>{}</Code><Message>{}</Message></Error>",
                            error.code, error.message
                        ),
                    );
                    failed.push((error.key, why));
                }
            }
            Err(StoreError::NotImplemented) => {
                store.cannot_delete_objects.store(true, Ordering::Relaxed);
                return Err(StoreError::NotImplemented);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(failed)
}
