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
use std::sync::Arc;

use crate::upload::{parts, repo};

/// The caller's session under `key`; with `upload_id`, only if it is that session's
/// multipart upload. Read from the database: what changes the session uses this.
pub async fn find_by_key(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: Option<&str>,
) -> CoreResult<Model> {
    let session = repo::find_owned(&core.db, id_of(key)?, who).await?;
    names(&session, key, upload_id)?;
    Ok(session)
}

/// The same, for signing a part: through the pending cache (see `upload::pending_cache`).
pub async fn find_for_signing(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: &str,
) -> CoreResult<Arc<Model>> {
    let session = parts::pending_owned(core, id_of(key)?, who).await?;
    names(&session, key, Some(upload_id))?;
    Ok(session)
}

/// The session id a key of Sluice's ends in.
fn id_of(key: &str) -> CoreResult<UploadId> {
    key.rsplit('/')
        .next()
        .and_then(|last| uuid::Uuid::parse_str(last).ok())
        .map(UploadId)
        .ok_or(CoreError::NotFound("upload"))
}

/// Whether `session` holds exactly this key and (if given) this multipart upload.
fn names(session: &Model, key: &str, upload_id: Option<&str>) -> CoreResult<()> {
    let not_found = || CoreError::NotFound("upload");
    if session.key != key {
        return Err(not_found());
    }
    if let Some(upload_id) = upload_id
        && session.multipart_upload_id.as_deref() != Some(upload_id)
    {
        return Err(not_found());
    }
    Ok(())
}
