//! The parts of a multipart session: URLs signed on demand (any subset, any time while
//! pending, again after they expired), each signing its part's exact length, so the store
//! refuses another length and the total is enforced by construction; and the parts the
//! store already holds, so a client that lost everything but the session id can resume.
//! Past the upload deadline nothing is signed: the request expires the session.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sluice_entity::upload_session::Model;

use sluice_domain::{UploadMethod, UploadState};

use super::expire;
use super::parts_plan::PartPlan;
use super::repo::{self, Actor};
use super::state::has_deadline;
use super::view::SignedPart;
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::storage::{PartConditions, StoredPart};
use crate::upload::checksum::Sha256Digest;

/// How many part URLs one request may ask for.
pub const MAX_PARTS_PER_REQUEST: usize = 1_000;

/// The largest part number S3 takes.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// The store's upload id of a multipart session and its cut; the cut is `None` when the
/// client declared no size (the parts are then checked when they are assembled).
pub fn plan_of(session: &Model) -> CoreResult<(String, Option<PartPlan>)> {
    let (UploadMethod::Multipart, Some(upload_id)) = (session.method, &session.multipart_upload_id)
    else {
        return Err(CoreError::NotMultipart);
    };
    let plan = match (session.size_exact, session.part_size, session.part_count) {
        (true, Some(size), Some(count)) => Some(PartPlan::recorded(
            u64::try_from(session.size).unwrap_or(0),
            u64::try_from(size).unwrap_or(0),
            u32::try_from(count).unwrap_or(0),
        )),
        _ => None,
    };
    Ok((upload_id.clone(), plan))
}

/// Signs the URLs of `numbers` for the caller's pending multipart session; a part with
/// a digest in `checksums` also signs its `x-amz-checksum-sha256` where the store checks
/// checksums (`storage.checksums`), so the store refuses other bytes for it.
#[tracing::instrument(skip_all, fields(upload_id = %id, parts = numbers.len()))]
pub async fn sign(
    core: &Core,
    who: &Principal,
    id: UploadId,
    numbers: &[u32],
    checksums: &BTreeMap<u32, Sha256Digest>,
) -> CoreResult<Vec<SignedPart>> {
    if let Some(n) = checksums.keys().find(|n| !numbers.contains(n)) {
        return Err(CoreError::invalid(
            "part_checksums",
            format!("part {n} has a checksum but is not among part_numbers"),
        ));
    }
    let session = pending_owned(core, id, who).await?;
    let session = within_deadline(core, session, &who.actor).await?;
    sign_for(core, &session, numbers, checksums).await
}

/// `session` (perhaps the pending cache's copy) if its deadline has not passed; past it,
/// the session expires now, as read from the row, and the request is refused with
/// `Expired` (see `expire::enforce`), so no URL is signed for a session that ended.
pub async fn within_deadline(
    core: &Core,
    session: Arc<Model>,
    actor: &Actor,
) -> CoreResult<Arc<Model>> {
    let ended = session.state == UploadState::Expired
        || (has_deadline(session.state) && session.expires_at <= core.now());
    if !ended {
        return Ok(session);
    }
    let row = repo::find(&core.db, UploadId(session.id))
        .await?
        .ok_or(CoreError::NotFound("upload"))?;
    expire::enforce(core, row, actor).await.map(Arc::new)
}

/// The caller's session for signing parts: from the pending cache while an entry stands
/// in for the row, else read (and remembered when it is a pending multipart session).
/// Another owner's session, or one of a profile outside the caller's scope, is
/// `NotFound` either way.
pub async fn pending_owned(core: &Core, id: UploadId, who: &Principal) -> CoreResult<Arc<Model>> {
    let now = core.now();
    if let Some(session) = core.pending.get(id.0, now) {
        return if who.may_reach(&session.owner, &session.profile) {
            Ok(session)
        } else {
            Err(CoreError::NotFound("upload"))
        };
    }
    let session = Arc::new(repo::find_owned(&core.db, id, who).await?);
    if session.state == UploadState::Pending && session.method == UploadMethod::Multipart {
        core.pending.put(session.clone(), now);
    }
    Ok(session)
}

/// Signs part URLs of `session` (already authorised).
pub async fn sign_for(
    core: &Core,
    session: &Model,
    numbers: &[u32],
    checksums: &BTreeMap<u32, Sha256Digest>,
) -> CoreResult<Vec<SignedPart>> {
    // A store that ignores the header would take any bytes anyway; one that answers
    // NotImplemented would refuse the part: sign it only where it is checked.
    let checked = core.store_checks_checksums(&session.store);
    let (upload_id, plan) = plan_of(session)?;
    if session.state != UploadState::Pending {
        return Err(CoreError::NotPending(session.state));
    }
    if numbers.is_empty() || numbers.len() > MAX_PARTS_PER_REQUEST {
        return Err(CoreError::invalid(
            "part_numbers",
            format!("ask for 1 to {MAX_PARTS_PER_REQUEST} parts at a time"),
        ));
    }
    let now = core.now();
    // No part URL outlives the pending state (the late-PUT cleanup relies on it).
    let left = (session.expires_at - now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if left < Duration::from_secs(1) {
        return Err(CoreError::NotPending(session.state));
    }
    let mut signed = Vec::with_capacity(numbers.len());
    for &n in numbers {
        // Without a declared size a part's length cannot be signed; the store still caps
        // a part at 5 GiB, and assembly checks the whole against the reservation.
        let size = match &plan {
            Some(plan) => Some(plan.len_of(n).ok_or(CoreError::PartOutOfRange {
                part_number: n,
                part_count: plan.part_count,
            })?),
            None if (1..=MAX_PART_NUMBER).contains(&n) => None,
            None => {
                return Err(CoreError::PartOutOfRange {
                    part_number: n,
                    part_count: MAX_PART_NUMBER,
                });
            }
        };
        let part = PartConditions {
            size,
            checksum_sha256: checksums
                .get(&n)
                .filter(|_| checked)
                .map(Sha256Digest::base64),
        };
        let request = core
            .store(&session.store)?
            .presign_part(&session.key, &upload_id, n, &part, left)
            .await?;
        signed.push(SignedPart {
            part_number: n,
            size,
            request,
            expires_at: session.expires_at,
        });
    }
    Ok(signed)
}

/// The parts the store holds for a pending multipart session.
pub async fn stored(core: &Core, session: &Model) -> CoreResult<Vec<StoredPart>> {
    let (upload_id, _) = plan_of(session)?;
    match core
        .store(&session.store)?
        .list_parts(&session.key, &upload_id)
        .await
    {
        Ok(parts) => Ok(parts),
        // Completed or aborted meanwhile: nothing is pending at the store any more.
        Err(crate::storage::StoreError::NoSuchUpload) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}
