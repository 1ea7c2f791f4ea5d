//! Creating a session: the profile's policy, the content type (declared, or guessed from
//! the filename when a browser sent none), the opaque key, and either a presigned PUT or,
//! above the profile's `multipart_threshold`, a multipart upload at the store with its cut.
//! Adapters that decide the transfer themselves (Uppy's Companion routes) use `create_as`,
//! with or without a declared size (`DeclaredSize`): without one, the profile's
//! `max_size` is reserved and is the most verification accepts (`size_exact = false`).
//!
//! A declared `sha256` (hex or base64) is stored as lower-case hex; a single PUT signs it
//! as `x-amz-checksum-sha256` where `storage.checksums` says the store checks it.
//!
//! A create commits three rows (session, audit event, expiry job) plus a counter row per
//! scope a limit needs, and wakes nothing: its only job is due at the upload deadline,
//! which the relay's timer reaches on its own.
//!
//! Invariants: the request can never widen its profile; the key is never built from the
//! filename; neither side leaks a multipart upload: if the row cannot be written the
//! store's upload is aborted, and if the process dies in between, the stale-multipart
//! sweep finds the stranger.

use serde_json::json;
use sluice_domain::{UploadMethod, UploadState};
use sluice_entity::upload_session::Model;

use super::input::DeclaredSize;
use super::parts_plan::PartPlan;
use super::repo::{self, Actor};
use super::view::{CreateUpload, CreatedUpload, SessionView};
use crate::Core;
use crate::auth::Principal;
use crate::config::ProfileSettings;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::naming;
use crate::quota;
use crate::storage::PutConditions;
use crate::upload::checksum::Sha256Digest;
use crate::write::Write;

/// How the bytes will travel, and who decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// The profile decides: one PUT up to `multipart_threshold`, multipart above.
    ByProfile,
    /// One request that the adapter presigns itself (a PUT or a browser-form POST); the
    /// created upload carries no PUT. `rewritable`: that request can write the key again
    /// after a first write (a POST policy, or a PUT without `If-None-Match`), so
    /// verification must seal the bytes (see `verify`).
    Single { rewritable: bool },
    /// Multipart whatever the size, cut into parts of `part_size` when the size is declared.
    Multipart { part_size: u64 },
}

/// Creates a `pending` session and tells the client how to upload its bytes.
pub async fn create(core: &Core, who: &Principal, req: CreateUpload) -> CoreResult<CreatedUpload> {
    create_as(core, who, req, Transfer::ByProfile).await
}

/// Creates a `pending` session with the transfer an adapter chose. Without a declared
/// size (`DeclaredSize::UpToProfileMax`) the session reserves the profile's `max_size`,
/// signs no length, and verification accepts any size up to it and records the real one.
#[tracing::instrument(skip_all, fields(owner = %who.owner, profile = %req.profile.as_str()))]
pub async fn create_as(
    core: &Core,
    who: &Principal,
    req: CreateUpload,
    transfer: Transfer,
) -> CoreResult<CreatedUpload> {
    let Prepared {
        session,
        scopes,
        ready,
    } = prepare(core, who, req, transfer)?;
    match ready {
        Ready::Multipart { part_size } => {
            create_multipart(core, who, session, &scopes, part_size).await
        }
        Ready::Adapter => {
            let session = insert(core, session, &who.actor, &scopes).await?;
            core.metrics.add_bytes("declared", session.size);
            Ok(CreatedUpload {
                session: SessionView::from(&session),
                put: None,
            })
        }
        Ready::Put { conditions } => {
            // Presign before writing: it is offline and cannot fail for a store outage,
            // and a failure here leaves no row behind.
            let put = presign(core, &session, &conditions).await?;
            let session = insert(core, session, &who.actor, &scopes).await?;
            core.metrics.add_bytes("declared", session.size);
            Ok(CreatedUpload {
                session: SessionView::from(&session),
                put: Some(put),
            })
        }
    }
}

/// A session checked against its profile and ready to be written, and what its transfer
/// still needs before it is.
pub(crate) struct Prepared {
    pub session: Model,
    /// The quota scopes it counts against, in lock order.
    pub scopes: [quota::Scope; 2],
    pub ready: Ready,
}

/// What a prepared session's transfer still needs.
pub(crate) enum Ready {
    /// A PUT to presign (offline) with these conditions.
    Put { conditions: PutConditions },
    /// A multipart upload to start at the store, cut into parts of `part_size`.
    Multipart { part_size: u64 },
    /// The adapter presigns its own request: nothing to hand out.
    Adapter,
}

/// Everything a create decides without I/O: the profile's policy, the content type, the
/// key, the deadlines and how the bytes travel. Shared by single and batch creates, so a
/// batch item is refused exactly as the same request alone would be.
pub(crate) fn prepare(
    core: &Core,
    who: &Principal,
    req: CreateUpload,
    transfer: Transfer,
) -> CoreResult<Prepared> {
    let profile_name = req.profile.as_str();
    let profile = core.profile(profile_name)?;
    if !who.may_use_profile(profile_name) {
        return Err(CoreError::ProfileNotAllowed(profile_name.to_owned()));
    }
    let (declared_size, size_declared) = match req.size {
        DeclaredSize::Exact(bytes) => (bytes, true),
        DeclaredSize::UpToProfileMax => (profile.max_size.bytes(), false),
    };
    let sha256 = match req.sha256.as_deref() {
        Some(text) => Some(Sha256Digest::parse(text).ok_or_else(|| {
            CoreError::invalid("sha256", "must be 64 hex digits or 44 characters of base64")
        })?),
        None if profile.require_checksum => {
            return Err(CoreError::ChecksumRequired(profile_name.to_owned()));
        }
        None => None,
    };
    let filename = naming::sanitize_filename(req.filename.as_str());
    let content_type = content_type_of(req.content_type.as_deref(), &filename)?;
    check_policy(profile, declared_size, &content_type, &filename)?;
    let size = i64::try_from(declared_size).map_err(|_| CoreError::invalid("size", "too large"))?;
    let id = UploadId::new();
    let now = core.now();
    let expires_at = crate::clock::add(now, profile.upload_ttl.get());
    let mut session = Model {
        id: id.0,
        owner: who.owner.clone(),
        profile: profile_name.to_owned(),
        filename,
        size,
        content_type: content_type.clone(),
        sha256: sha256.map(|d| d.hex()),
        metadata: json!(req.metadata.entries()),
        key: naming::object_key(&profile.key_prefix, &who.owner, id),
        method: UploadMethod::Put,
        state: UploadState::Pending,
        version: 0,
        one_time: profile.one_time(),
        checksum_signed: false,
        checksum_verified: false,
        failure: None,
        expires_at,
        created_at: now,
        updated_at: now,
        upload_deadline: Some(expires_at),
        // No upload URL of this session ever outlives its pending state.
        urls_valid_until: Some(expires_at),
        cleanup_due_at: None,
        cleaned_at: None,
        multipart_upload_id: None,
        part_size: None,
        part_count: None,
        size_exact: size_declared,
        // A PUT URL that signs no `If-None-Match` can overwrite the key until it expires;
        // multipart and adapter-presigned uploads set their own below.
        rewritable: !profile.one_time(),
        sealed_key: None,
        held_bytes: 0,
        scan: None,
        batch_id: None,
        store: profile.store_name().to_owned(),
    };
    let scopes = quota::scopes(&session.profile, profile, &core.settings.quota);
    let ready = match transfer {
        Transfer::ByProfile if declared_size > profile.multipart_threshold.bytes() => {
            Ready::Multipart {
                part_size: profile.part_size.bytes(),
            }
        }
        Transfer::Multipart { part_size } => Ready::Multipart { part_size },
        Transfer::Single { rewritable } => {
            session.rewritable = rewritable;
            Ready::Adapter
        }
        Transfer::ByProfile => {
            // A multipart upload has no whole-object SHA-256 a store could check per
            // part; a single PUT signs it where the store checks and reports checksums.
            let checksum_sha256 = sha256
                .filter(|_| core.settings.store_of(profile).checksums())
                .map(|d| d.base64());
            session.checksum_signed = checksum_sha256.is_some();
            Ready::Put {
                conditions: PutConditions {
                    content_type,
                    content_length: declared_size,
                    one_time: profile.one_time(),
                    checksum_sha256,
                },
            }
        }
    };
    Ok(Prepared {
        session,
        scopes,
        ready,
    })
}

/// The presigned PUT of a prepared session (offline: no store request).
pub(crate) async fn presign(
    core: &Core,
    session: &Model,
    conditions: &PutConditions,
) -> CoreResult<crate::storage::PresignedRequest> {
    let profile = core.profile(&session.profile)?;
    Ok(core
        .store(&session.store)?
        .presign_put(&session.key, conditions, profile.upload_ttl.get())
        .await?)
}

/// Starts the multipart upload of a prepared session at the store and records its id
/// and cut on the session (not yet written).
pub(crate) async fn start_multipart(
    core: &Core,
    session: &mut Model,
    part_size: u64,
) -> CoreResult<()> {
    let total = u64::try_from(session.size).unwrap_or(0);
    let plan = PartPlan::new(total, part_size)
        .ok_or_else(|| CoreError::invalid("size", "too large to cut into 10,000 parts"))?;
    let upload_id = core
        .store(&session.store)?
        .create_multipart(&session.key, &session.content_type)
        .await?;
    session.method = UploadMethod::Multipart;
    // Once Sluice completes it, the upload id is gone: no part URL can write the key again.
    session.rewritable = false;
    session.multipart_upload_id = Some(upload_id);
    // Without a declared size there is no cut: the client chooses its parts, and
    // assembly checks them against the reservation.
    if session.size_exact {
        session.part_size = i64::try_from(plan.part_size).ok();
        session.part_count = i32::try_from(plan.part_count).ok();
    }
    Ok(())
}

async fn create_multipart(
    core: &Core,
    who: &Principal,
    mut session: Model,
    scopes: &[quota::Scope],
    part_size: u64,
) -> CoreResult<CreatedUpload> {
    start_multipart(core, &mut session, part_size).await?;
    let key = session.key.clone();
    let store = core.store(&session.store)?.clone();
    let upload_id = session.multipart_upload_id.clone().unwrap_or_default();
    match insert(core, session, &who.actor, scopes).await {
        Ok(session) => {
            core.metrics.add_bytes("declared", session.size);
            Ok(CreatedUpload {
                session: SessionView::from(&session),
                put: None,
            })
        }
        Err(error) => {
            if let Err(abort) = store.abort_multipart(&key, &upload_id).await {
                tracing::warn!(%key, error = %abort, "multipart upload of a session that was never written is left for the stale-multipart sweep");
            }
            Err(error)
        }
    }
}

/// The declared content type, or the one the filename's extension suggests, or
/// `application/octet-stream`: browsers leave `File.type` empty for unknown extensions.
fn content_type_of(declared: Option<&str>, filename: &str) -> CoreResult<String> {
    // Only spaces around it are dropped; other whitespace makes it invalid.
    match declared
        .map(|t| t.trim_matches(' '))
        .filter(|t| !t.is_empty())
    {
        Some(declared) => naming::normalize_content_type(declared).ok_or_else(|| {
            CoreError::invalid("content_type", "must be a media type such as image/png")
        }),
        None => Ok(mime_guess::from_path(filename)
            .first()
            .map(|m| m.essence_str().to_owned())
            .unwrap_or_else(|| "application/octet-stream".to_owned())),
    }
}

/// The profile's limits on size, type and extension.
fn check_policy(
    profile: &ProfileSettings,
    size: u64,
    content_type: &str,
    filename: &str,
) -> CoreResult<()> {
    if size > profile.max_size.bytes() {
        return Err(CoreError::TooLarge {
            size,
            limit: profile.max_size.bytes(),
        });
    }
    if !naming::content_type_allowed(content_type, &profile.content_types) {
        return Err(CoreError::TypeNotAllowed(content_type.to_owned()));
    }
    if !profile.extensions.is_empty() {
        let ext = naming::extension_of(filename).unwrap_or_default();
        if !profile.extensions.contains(&ext) {
            return Err(CoreError::ExtensionNotAllowed(ext));
        }
    }
    Ok(())
}

/// Inserts `session` in a `Write` of its own (see `repo::insert`).
async fn insert(
    core: &Core,
    session: Model,
    actor: &Actor,
    scopes: &[quota::Scope],
) -> CoreResult<Model> {
    let write = Write::begin(core).await?;
    let session = repo::insert(&write, session, actor, scopes).await?;
    write.commit().await?;
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_omitted_type_is_guessed_from_the_extension() {
        assert_eq!(content_type_of(None, "a.png").expect("guess"), "image/png");
        assert_eq!(
            content_type_of(Some(" "), "a.pdf").expect("guess"),
            "application/pdf"
        );
        assert_eq!(
            content_type_of(None, "a.unknownext").expect("fallback"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_of(None, "noext").expect("fallback"),
            "application/octet-stream"
        );
        assert_eq!(
            content_type_of(Some("Text/Plain"), "a.png").expect("declared"),
            "text/plain"
        );
        assert!(content_type_of(Some("not a type"), "a.png").is_err());
    }
}
