//! Verification: what the store holds under a `verifying` session's key, checked against
//! what the client declared (size, the SHA-256 where the store reports one, stored type)
//! and, for profiles that ask, what the first bytes reveal. A multipart session is first
//! assembled: Sluice lists the parts itself, checks every part 1..n against its cut, and
//! completes the upload with the store's ETags (the client's only where the store omits
//! them). Moves the session to `uploaded`, `rejected` or back to `pending`.
//!
//! Sealing: a rewritable session's upload key can be written again until its URL expires
//! (a POST policy, a PUT without `If-None-Match`). Its verified object is copied
//! server-side to the session's sealed key, conditional on the ETag the checks saw, and
//! the copy is what the file and every download read; the upload key is then owed a
//! cleanup like an ended session's. A one-time PUT or a completed multipart upload cannot
//! be written again, so those keys are read as they are.
//!
//! Invariants: a store that cannot be asked never changes the session (it stays
//! `verifying` and a job asks again later; only its own deadline ends it); a rejection
//! deletes nothing here: the plan of the rejection owes the cleanup (which also aborts a
//! multipart upload); the bytes a verified session records are exactly the bytes under
//! the key its downloads read.

use serde_json::json;
use sluice_domain::{Failure, UploadMethod, UploadState};
use sluice_entity::upload_session::Model;

use super::parts::plan_of;
use super::parts_plan::PartPlan;
use super::repo::{self, Actor};
use super::service::plan_context;
use super::sniff::{SNIFF_BYTES, contradiction};
use super::state::Event;
use super::view::{CompleteOutcome, SessionView};
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::naming;
use crate::storage::{ObjectMeta, PartEtag, StoreError, StoredPart};
use crate::upload::checksum::Sha256Digest;

/// What the store's answers say about the object.
enum Finding {
    /// Passed; `true` when the store reported the declared SHA-256.
    Good(ObjectMeta, bool),
    Missing,
    PartsMissing(Vec<u32>),
    Bad(Failure, String, serde_json::Value),
}

/// Checks a `verifying` session's object and moves it on. A store outage leaves it
/// `verifying` (`Deferred`). `client_parts` are the ETags the client reported, used only
/// where the store does not report its own.
pub(super) async fn verify(
    core: &Core,
    session: Model,
    actor: &Actor,
    client_parts: &[PartEtag],
) -> CoreResult<CompleteOutcome> {
    let (finding, sealed) = match inspect_and_seal(core, &session, client_parts).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::warn!(upload_id = %session.id, "the object kept changing while it was sealed; a job will retry");
            return Ok(CompleteOutcome::Deferred(SessionView::from(&session)));
        }
        Err(e) => {
            tracing::warn!(upload_id = %session.id, error = %e, "store unavailable at verification; a job will retry");
            return Ok(CompleteOutcome::Deferred(SessionView::from(&session)));
        }
    };
    let ctx = plan_context(core, &session);
    match finding {
        Finding::Missing => {
            repo::transition_committed(core, &session, Event::NotStored, actor, &ctx, json!({}))
                .await?;
            Err(CoreError::NotUploaded)
        }
        Finding::PartsMissing(missing) => {
            let facts = json!({"missing_parts": missing});
            repo::transition_committed(core, &session, Event::NotStored, actor, &ctx, facts)
                .await?;
            Err(CoreError::PartsMissing(missing))
        }
        Finding::Bad(failure, detail, mut facts) => {
            facts["detail"] = json!(detail);
            let event = Event::Reject(failure);
            repo::transition_committed(core, &session, event, actor, &ctx, facts).await?;
            Err(CoreError::Rejected { failure, detail })
        }
        Finding::Good(meta, checksum_verified) => {
            let mut ctx = ctx;
            ctx.plan.verified_size = Some(i64::try_from(meta.size).unwrap_or(i64::MAX));
            ctx.plan.checksum_verified = checksum_verified;
            ctx.plan.sealed = sealed;
            // The store's own checksum (a multipart object's composite one too) stays in
            // the audit trail.
            let mut facts = json!({
                "stored_size": meta.size,
                "etag": meta.etag,
                "checksum_verified": checksum_verified,
                "stored_sha256": meta.checksum_sha256,
            });
            if sealed {
                facts["sealed_key"] = json!(naming::sealed_key(&session.key));
            }
            let uploaded = match repo::transition_committed(
                core,
                &session,
                Event::Verified,
                actor,
                &ctx,
                facts,
            )
            .await
            {
                Ok(uploaded) => uploaded,
                Err(e) => {
                    if sealed {
                        drop_unrecorded_seal(core, &session).await;
                    }
                    return Err(e);
                }
            };
            core.metrics
                .add_bytes("verified", i64::try_from(meta.size).unwrap_or(i64::MAX));
            Ok(CompleteOutcome::Done(SessionView::from(&uploaded)))
        }
    }
}

/// How often verification inspects again an object that changed while it was sealed.
const SEAL_ATTEMPTS: usize = 2;

/// Inspects the object and, for a rewritable session that passed, seals it: copies it to
/// the session's sealed key on condition that it still is the object inspected (its
/// ETag), then checks the copy. `Ok(Some((finding, sealed)))`; `Ok(None)` when the object
/// kept changing under the upload key's still valid URL (a job asks again later).
async fn inspect_and_seal(
    core: &Core,
    session: &Model,
    client_parts: &[PartEtag],
) -> Result<Option<(Finding, bool)>, StoreError> {
    for _ in 0..SEAL_ATTEMPTS {
        let finding = inspect(core, session, client_parts).await?;
        let Finding::Good(meta, _) = &finding else {
            return Ok(Some((finding, false)));
        };
        if !session.rewritable {
            return Ok(Some((finding, false)));
        }
        if seal(core, session, meta).await? {
            return Ok(Some((finding, true)));
        }
    }
    Ok(None)
}

/// Copies the inspected object to the sealed key, server-side, only if the upload key
/// still holds it (`x-amz-copy-source-if-match` on the ETag the HEAD saw), then checks
/// that the copy is that object (size, and ETag where the store gives both). `false`
/// when the object changed or vanished in between: the copy, if any, is removed.
async fn seal(core: &Core, session: &Model, meta: &ObjectMeta) -> Result<bool, StoreError> {
    let sealed = naming::sealed_key(&session.key);
    match core
        .store(&session.store)?
        .copy(&session.key, &sealed, meta.etag.as_deref())
        .await
    {
        Ok(()) => {}
        Err(StoreError::PreconditionFailed | StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e),
    }
    let copy = core.store(&session.store)?.head(&sealed).await?;
    let same = copy.as_ref().is_some_and(|copy| {
        copy.size == meta.size
            && match (&copy.etag, &meta.etag) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    });
    if !same {
        core.store(&session.store)?.delete(&sealed).await?;
    }
    Ok(same)
}

/// A verification sealed the bytes but its transition failed (it lost a race): unless
/// the row now records the sealed key (another verification won with the same copy),
/// the copy is removed. Best effort: the cleanup of an ended rewritable session deletes
/// the sealed key as well.
async fn drop_unrecorded_seal(core: &Core, session: &Model) {
    let recorded = repo::find(&core.db, UploadId(session.id))
        .await
        .ok()
        .flatten()
        .is_some_and(|row| row.sealed_key.is_some());
    if recorded {
        return;
    }
    let sealed = naming::sealed_key(&session.key);
    let deleted = match core.store(&session.store) {
        Ok(store) => store.delete(&sealed).await,
        Err(e) => Err(e),
    };
    if let Err(e) = deleted {
        tracing::warn!(upload_id = %session.id, error = %e, "an unrecorded sealed copy is left for the session's cleanup");
    }
}

/// Asks the store: assembles a multipart upload, then one HEAD, and one ranged GET of the
/// first bytes when the profile sniffs.
async fn inspect(
    core: &Core,
    session: &Model,
    client_parts: &[PartEtag],
) -> Result<Finding, StoreError> {
    if session.method == UploadMethod::Multipart
        && let Some(finding) = assemble(core, session, client_parts).await?
    {
        return Ok(finding);
    }
    let Some(meta) = core.store(&session.store)?.head(&session.key).await? else {
        return Ok(Finding::Missing);
    };
    let facts = json!({"stored_size": meta.size, "stored_type": meta.content_type});
    let declared = u64::try_from(session.size).unwrap_or(0);
    // A declared size is exact; without one, `size` is the most the profile allows.
    let wrong = if session.size_exact {
        meta.size != declared
    } else {
        meta.size > declared
    };
    if wrong {
        let detail = if session.size_exact {
            format!("declared {declared} bytes, the store holds {}", meta.size)
        } else {
            format!(
                "the store holds {} bytes, more than the {declared} allowed",
                meta.size
            )
        };
        return Ok(Finding::Bad(Failure::SizeMismatch, detail, facts));
    }
    let signed = session.checksum_signed && core.store_checks_checksums(&session.store);
    let checksum_verified = match checksum(session.sha256.as_deref(), &meta, signed) {
        Ok(verified) => verified,
        Err(detail) => {
            let facts = json!({"stored_sha256": meta.checksum_sha256});
            return Ok(Finding::Bad(Failure::ChecksumMismatch, detail, facts));
        }
    };
    // A multipart object whose every part the store checked against the digest the client
    // computed: the store's composite checksum is the one those digests make.
    let checksum_verified = checksum_verified
        || (session.method == UploadMethod::Multipart
            && core.store_checks_checksums(&session.store)
            && parts_vouched_for(client_parts, meta.checksum_sha256.as_deref()));
    if let Some(stored) = meta.content_type.as_deref()
        && essence(stored) != essence(&session.content_type)
    {
        let declared = &session.content_type;
        let detail = format!("declared {declared}, the store holds {stored}");
        return Ok(Finding::Bad(Failure::TypeMismatch, detail, facts));
    }
    let profile = core.profile_or_default(&session.profile);
    if profile.sniff {
        let Some(head) = core
            .store(&session.store)?
            .read_prefix(&session.key, SNIFF_BYTES)
            .await?
        else {
            return Ok(Finding::Missing);
        };
        if let Some(detail) = contradiction(&session.content_type, &profile.content_types, &head) {
            return Ok(Finding::Bad(Failure::TypeMismatch, detail, facts));
        }
    }
    Ok(Finding::Good(meta, checksum_verified))
}

/// Whether `reported` (a HEAD's checksum) is the composite checksum of the digests the
/// client sent for every part, in part order: then the store checked each part's bytes
/// against the digest the client computed while reading the file.
fn parts_vouched_for(client_parts: &[PartEtag], reported: Option<&str>) -> bool {
    let Some(reported) = reported.filter(|r| r.contains('-')) else {
        return false;
    };
    let mut parts: Vec<&PartEtag> = client_parts.iter().collect();
    parts.sort_by_key(|p| p.part_number);
    let digests: Option<Vec<Sha256Digest>> = parts
        .iter()
        .map(|p| p.checksum_sha256.as_deref().and_then(Sha256Digest::parse))
        .collect();
    digests
        .and_then(|d| Sha256Digest::composite(&d))
        .is_some_and(|composite| composite == reported)
}

/// What the store's reported SHA-256 says of the declared one: `Ok(true)` when they agree,
/// `Ok(false)` when the store vouches for nothing (no digest declared, none reported, or
/// a multipart checksum of checksums), `Err` with why when the object is not the
/// declared one. `signed`: the PUT URL signed the digest and the store checks and
/// reports checksums, so a store that reports none did not take these bytes through
/// that check (the embedded store keeps the bytes of a PUT it refused for a digest
/// mismatch, without a checksum).
fn checksum(declared: Option<&str>, meta: &ObjectMeta, signed: bool) -> Result<bool, String> {
    let Some(declared) = declared.and_then(Sha256Digest::parse) else {
        return Ok(false);
    };
    match meta.checksum_sha256.as_deref() {
        Some(reported) => match Sha256Digest::parse(reported) {
            Some(stored) if stored == declared => Ok(true),
            Some(stored) => Err(format!(
                "declared sha256 {}, the store holds {}",
                declared.hex(),
                stored.hex()
            )),
            None => Ok(false),
        },
        None if signed => Err(
            "the upload URL signed the declared sha256, and the store reports no checksum \
             for the object: it did not accept these bytes"
                .to_owned(),
        ),
        None => Ok(false),
    }
}

/// Completes a multipart upload after checking its parts against the cut. `None` means
/// the HEAD decides: the object was assembled now, or by an earlier attempt that crashed
/// before it could record it (the store then no longer knows the upload), or nothing was
/// uploaded at all.
async fn assemble(
    core: &Core,
    session: &Model,
    client_parts: &[PartEtag],
) -> Result<Option<Finding>, StoreError> {
    let Ok((upload_id, plan)) = plan_of(session) else {
        let detail = "the session lost its multipart plan".to_owned();
        return Ok(Some(Finding::Bad(Failure::SizeMismatch, detail, json!({}))));
    };
    let stored = match core
        .store(&session.store)?
        .list_parts(&session.key, &upload_id)
        .await
    {
        Ok(parts) => parts,
        Err(StoreError::NoSuchUpload) => return Ok(None),
        Err(e) => return Err(e),
    };
    if stored.is_empty() {
        return Ok(None);
    }
    let checked = match plan {
        Some(plan) => against_plan(&plan, &stored),
        None => without_plan(&stored, u64::try_from(session.size).unwrap_or(0)),
    };
    if let Some(finding) = checked {
        return Ok(Some(finding));
    }
    let client_part = |n: u32| client_parts.iter().find(|c| c.part_number == n);
    let client_etag = |n: u32| client_part(n).map(|c| c.etag.clone());
    // The digests the client signed its parts with: a store that checks them compares
    // each with what it recorded for the part, and builds the object's composite checksum.
    let checked = core.store_checks_checksums(&session.store);
    let client_digest = |n: u32| {
        client_part(n)
            .and_then(|c| c.checksum_sha256.clone())
            .filter(|_| checked)
    };
    let etags: Vec<PartEtag> = stored
        .iter()
        .map(|part| PartEtag {
            part_number: part.part_number,
            etag: part
                .etag
                .clone()
                .or_else(|| client_etag(part.part_number))
                .unwrap_or_default(),
            checksum_sha256: client_digest(part.part_number),
        })
        .collect();
    let key = &session.key;
    match core
        .store(&session.store)?
        .complete_multipart(key, &upload_id, &etags)
        .await
    {
        Ok(()) | Err(StoreError::NoSuchUpload) => Ok(None),
        Err(StoreError::InvalidPart(why)) => {
            let detail = format!("the store refused the parts: {why}");
            Ok(Some(Finding::Bad(Failure::SizeMismatch, detail, json!({}))))
        }
        Err(e) => Err(e),
    }
}

/// Checks stored parts against the cut a declared size gave.
fn against_plan(plan: &PartPlan, stored: &[StoredPart]) -> Option<Finding> {
    for part in stored {
        let planned = plan.len_of(part.part_number);
        if planned != Some(part.size) {
            let (n, size) = (part.part_number, part.size);
            let detail = match planned {
                Some(planned) => format!("part {n} holds {size} bytes, its plan {planned}"),
                None => format!("part {n} is outside the plan of {} parts", plan.part_count),
            };
            let facts = json!({"part_number": n, "stored_size": size});
            return Some(Finding::Bad(Failure::SizeMismatch, detail, facts));
        }
    }
    let missing: Vec<u32> = (1..=plan.part_count)
        .filter(|n| !stored.iter().any(|p| p.part_number == *n))
        .collect();
    (!missing.is_empty()).then_some(Finding::PartsMissing(missing))
}

/// Checks stored parts of a session that declared no size: numbered 1..n without gaps,
/// all but the last of one size (at least the S3 minimum), in all at most `limit`.
fn without_plan(stored: &[StoredPart], limit: u64) -> Option<Finding> {
    let last = stored.iter().map(|p| p.part_number).max().unwrap_or(0);
    let missing: Vec<u32> = (1..=last)
        .filter(|n| !stored.iter().any(|p| p.part_number == *n))
        .collect();
    if !missing.is_empty() {
        return Some(Finding::PartsMissing(missing));
    }
    let total: u64 = stored.iter().map(|p| p.size).sum();
    if total > limit {
        let detail = format!("the parts hold {total} bytes, more than the {limit} allowed");
        return Some(Finding::Bad(
            Failure::SizeMismatch,
            detail,
            json!({"stored_size": total}),
        ));
    }
    let first = stored.first().map_or(0, |p| p.size);
    let uneven = stored
        .iter()
        .filter(|p| p.part_number < last)
        .find(|p| p.size != first || p.size < super::parts_plan::MIN_PART);
    if let Some(part) = uneven {
        let detail = format!(
            "part {} holds {} bytes; every part but the last must hold the same, at least 5 MiB",
            part.part_number, part.size
        );
        return Some(Finding::Bad(
            Failure::SizeMismatch,
            detail,
            json!({"part_number": part.part_number}),
        ));
    }
    None
}

/// The job side of verification: finishes a session left `verifying`. A store outage is
/// an error so the job is retried; anything else settles it.
pub async fn verify_pending(core: &Core, id: UploadId) -> CoreResult<()> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(());
    };
    if session.state != UploadState::Verifying {
        return Ok(());
    }
    // Alone: a completing request may be verifying it right now.
    match super::verify_alone::verify_alone(core, &session, &Actor::System, &[]).await {
        Ok(CompleteOutcome::Deferred(_)) => Err(CoreError::Storage(StoreError::Unreachable(
            "verification deferred".into(),
        ))),
        Ok(CompleteOutcome::Done(_))
        | Err(
            CoreError::NotUploaded
            | CoreError::PartsMissing(_)
            | CoreError::Rejected { .. }
            | CoreError::Conflict,
        ) => Ok(()),
        Err(e) => Err(e),
    }
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `VerifyUpload` job's handler (declared in `crate::jobs`).
impl crate::jobs::RunJob for crate::jobs::VerifyUpload {
    async fn run(self, core: &Core) -> CoreResult<crate::jobs::Ran> {
        verify_pending(core, self.upload_id).await?;
        Ok(crate::jobs::Ran::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    const B64: &str = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";

    fn meta(reported: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            size: 5,
            content_type: None,
            etag: None,
            checksum_sha256: reported.map(str::to_owned),
        }
    }

    #[test]
    fn a_composite_checksum_vouches_for_every_part_or_for_nothing() {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let digest = |b: &[u8]| Sha256Digest::from_bytes(Sha256::digest(b).into());
        let (one, two) = (digest(b"part one"), digest(b"part two"));
        let part = |n: u32, d: Option<Sha256Digest>| PartEtag {
            part_number: n,
            checksum_sha256: d.map(|d| d.base64()),
            etag: String::new(),
        };
        // S3's definition: SHA-256 over the raw part digests in order, then `-N`.
        let mut whole = Sha256::new();
        whole.update(Sha256::digest(b"part one"));
        whole.update(Sha256::digest(b"part two"));
        let expected = format!(
            "{}-2",
            base64::engine::general_purpose::STANDARD.encode(whole.finalize())
        );
        assert_eq!(
            Sha256Digest::composite(&[one, two]).as_deref(),
            Some(expected.as_str())
        );
        // Whatever order the client listed its parts in.
        let parts = [part(2, Some(two)), part(1, Some(one))];
        assert!(parts_vouched_for(&parts, Some(&expected)));
        // Another composite, a part without a digest, a plain digest: nothing vouched for.
        let swapped = Sha256Digest::composite(&[two, one]).expect("composite");
        assert!(!parts_vouched_for(&parts, Some(&swapped)));
        assert!(!parts_vouched_for(
            &[part(1, Some(one)), part(2, None)],
            Some(&expected)
        ));
        assert!(!parts_vouched_for(&parts, Some(&one.base64())));
        assert!(!parts_vouched_for(&parts, None));
        assert_eq!(Sha256Digest::composite(&[]), None);
    }

    #[test]
    fn the_store_vouches_only_for_the_digest_it_reports() {
        assert_eq!(checksum(Some(HEX), &meta(Some(B64)), true), Ok(true));
        assert_eq!(checksum(Some(HEX), &meta(Some(B64)), false), Ok(true));
        let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert!(checksum(Some(HEX), &meta(Some(other)), false).is_err());
        // A multipart checksum of part checksums says nothing of the whole object.
        let composite = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=-3";
        assert_eq!(
            checksum(Some(HEX), &meta(Some(composite)), false),
            Ok(false)
        );
        // Nothing reported: unverified, unless the URL signed it for a checking store.
        assert_eq!(checksum(Some(HEX), &meta(None), false), Ok(false));
        assert!(checksum(Some(HEX), &meta(None), true).is_err());
        // Nothing declared: nothing to vouch for.
        assert_eq!(checksum(None, &meta(Some(B64)), true), Ok(false));
    }
}
