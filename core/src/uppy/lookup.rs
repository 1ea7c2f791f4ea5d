//! Finding the session an Uppy request names. Companion's routes name an upload by its
//! object `key` (and, for multipart, the store's `uploadId`); Sluice's keys end in the
//! session id, so the key leads to one row, which must belong to the caller and hold
//! exactly that key and upload id.
//!
//! Invariants: another owner's key, a key Sluice did not make, or an upload id of another
//! session are all `NotFound`, never a hint that the upload exists.

use sluice_entity::upload_session::Model;

use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::upload::repo;

/// The caller's session under `key`; with `upload_id`, only if it is that session's
/// multipart upload.
pub async fn find_by_key(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: Option<&str>,
) -> CoreResult<Model> {
    let not_found = || CoreError::NotFound("upload");
    let id = key
        .rsplit('/')
        .next()
        .and_then(|last| uuid::Uuid::parse_str(last).ok())
        .ok_or_else(not_found)?;
    let session = repo::find_owned(&core.db, UploadId(id), &who.owner).await?;
    if session.key != key {
        return Err(not_found());
    }
    if let Some(upload_id) = upload_id
        && session.multipart_upload_id.as_deref() != Some(upload_id)
    {
        return Err(not_found());
    }
    Ok(session)
}
