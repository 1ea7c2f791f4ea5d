//! Companion's multipart routes: create, sign one part, list the stored parts, complete
//! and abort. Each finds the session by key and upload id, then runs the ordinary use
//! case: part URLs sign their exact length where the size was declared (cut by
//! `uppy.part_size`, which must equal Uppy's chunk size), completion assembles what the
//! store holds and checks it against the cut or, without one, against the reservation.
//!
//! Invariants: nothing here trusts the client's part list where the store can list the
//! parts itself; the client's ETags are used only where the store omits its own.

use super::lookup::find_for_signing;
use super::{UppyFile, create_session, find_by_key};
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::storage::{PartEtag, StoredPart};
use crate::upload::create::Transfer;
use crate::upload::{CompleteOutcome, SessionView, SignedPart, parts, service};

/// A multipart session and its store upload id.
#[derive(Clone, Debug)]
pub struct Started {
    pub session: SessionView,
    pub upload_id: String,
}

/// Creates a multipart session for `file`.
#[tracing::instrument(skip_all, fields(owner = %who.owner))]
pub async fn create(core: &Core, who: &Principal, file: UppyFile) -> CoreResult<Started> {
    let part_size = core.settings.uppy.part_size.bytes();
    let created = create_session(core, who, file, Transfer::Multipart { part_size }).await?;
    let session = created.session;
    // The view shows the upload id only with a cut; an undeclared size has none.
    let upload_id = match &session.multipart {
        Some(m) => m.upload_id.clone(),
        None => find_by_key(core, who, &session.key, None)
            .await?
            .multipart_upload_id
            .ok_or(CoreError::NotMultipart)?,
    };
    Ok(Started { session, upload_id })
}

/// Signs part `n` of the caller's upload.
pub async fn sign_part(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: &str,
    n: u32,
) -> CoreResult<SignedPart> {
    let session = find_for_signing(core, who, key, upload_id).await?;
    let session = parts::within_deadline(core, session, &who.actor).await?;
    let mut signed = parts::sign_for(core, &session, &[n], &Default::default()).await?;
    signed.pop().ok_or(CoreError::NotMultipart)
}

/// The parts the store holds (for Uppy's resume).
pub async fn list_parts(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: &str,
) -> CoreResult<Vec<StoredPart>> {
    let session = find_by_key(core, who, key, Some(upload_id)).await?;
    parts::stored(core, &session).await
}

/// Completes and verifies the upload.
pub async fn complete(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: &str,
    client_parts: &[PartEtag],
) -> CoreResult<CompleteOutcome> {
    let session = find_by_key(core, who, key, Some(upload_id)).await?;
    service::complete(core, who, UploadId(session.id), client_parts).await
}

/// Aborts the upload: the session is `aborted` and its plan owes the store's abort.
pub async fn abort(
    core: &Core,
    who: &Principal,
    key: &str,
    upload_id: &str,
) -> CoreResult<SessionView> {
    let session = find_by_key(core, who, key, Some(upload_id)).await?;
    service::abort(core, who, UploadId(session.id)).await
}
