//! File use cases. Commit and delete change the session through the upload repository's
//! `transition`, in the same transaction as the `files` row, so a file exists exactly
//! while its session is `committed`; the plan of the deletion owes the cleanup of the key.
//! A request that loses a compare-and-set re-reads and answers from the state reached.

use crate::write::Write;
use sluice_domain::UploadState;
use sluice_entity::file::Model;
use sluice_entity::upload_session::Model as SessionModel;

use super::repo;
use super::view::{DownloadLink, DownloadRequest, FileView};
use crate::Core;
use crate::audit;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::{FileId, UploadId};
use crate::naming::{content_disposition, served_disposition};
use crate::storage::GetOverrides;
use crate::upload::expire;
use crate::upload::repo as upload_repo;
use crate::upload::service::{CAS_ATTEMPTS, plan_context};
use crate::upload::state::Event;

/// The application keeps the upload: session `committed`, a file row created.
/// Committing a committed session returns its file again, also to requests that raced
/// the one that committed it; past the commit deadline the session expires now and the
/// request is refused with `Expired`.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn commit(core: &Core, who: &Principal, id: UploadId) -> CoreResult<FileView> {
    for _ in 0..CAS_ATTEMPTS {
        let session = upload_repo::find_owned(&core.db, id, who).await?;
        let result = match expire::enforce(core, session, &who.actor).await {
            Ok(session) if session.state == UploadState::Committed => {
                let file = repo::find_by_upload(&core.db, UploadId(session.id)).await?;
                return Ok(FileView::from(&file));
            }
            Ok(session) => commit_once(core, who, &session).await,
            Err(e) => Err(e),
        };
        match result {
            // Lost the race: the state the session reached answers on the next read.
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            other => return other,
        }
    }
    Err(CoreError::Conflict)
}

/// One attempt at committing `session` as read; `Conflict` when another writer moved it.
async fn commit_once(core: &Core, who: &Principal, session: &SessionModel) -> CoreResult<FileView> {
    let ctx = plan_context(core, session);
    let file_id = FileId::new();
    let write = Write::begin(core).await?;
    let committed = upload_repo::transition(
        &write,
        session,
        Event::Commit,
        &who.actor,
        &ctx,
        serde_json::json!({"file_id": file_id.to_string()}),
    )
    .await?;
    let file = repo::insert(
        write.db(),
        Model {
            id: file_id.0,
            upload_id: committed.id,
            owner: committed.owner.clone(),
            profile: committed.profile.clone(),
            filename: committed.filename.clone(),
            size: committed.size,
            content_type: committed.content_type.clone(),
            sha256: committed.sha256.clone(),
            checksum_verified: committed.checksum_verified,
            // Where the verified bytes are: the sealed copy if there is one, which no
            // URL can write.
            key: committed
                .sealed_key
                .clone()
                .unwrap_or_else(|| committed.key.clone()),
            created_at: ctx.plan.now,
            scan: committed.scan,
            store: committed.store.clone(),
        },
    )
    .await?;
    // The transition owes the `upload.committed` delivery now: committing wakes the relay.
    write.commit().await?;
    core.metrics.add_bytes("committed", file.size);
    Ok(FileView::from(&file))
}

pub async fn get(core: &Core, who: &Principal, id: FileId) -> CoreResult<FileView> {
    Ok(FileView::from(&repo::find_owned(&core.db, id, who).await?))
}

/// A presigned GET restoring the original filename and the stored content type. A type
/// that is not passive content is served as an attachment even when `inline` is asked,
/// unless the profile says `inline_active_content` (see `naming::served_disposition`).
pub async fn download_link(
    core: &Core,
    who: &Principal,
    id: FileId,
    req: DownloadRequest,
) -> CoreResult<DownloadLink> {
    let file = repo::find_owned(&core.db, id, who).await?;
    let profile = core.profile_or_default(&file.profile);
    let max = profile.download_ttl.get().as_secs();
    let ttl = req.ttl_seconds.unwrap_or(max);
    if ttl == 0 || ttl > max {
        return Err(CoreError::invalid(
            "ttl_seconds",
            format!("must be between 1 and {max}"),
        ));
    }
    let asked = req.disposition.unwrap_or(profile.disposition);
    let disposition = served_disposition(asked, &file.content_type, profile.inline_active_content);
    let overrides = GetOverrides {
        content_disposition: content_disposition(disposition, &file.filename),
        content_type: file.content_type.clone(),
    };
    let ttl_seconds = ttl;
    let ttl = std::time::Duration::from_secs(ttl);
    let url = core
        .store(&file.store)?
        .presign_get(&file.key, &overrides, ttl)
        .await?;
    let now = core.now();
    let expires_at = crate::clock::add(now, ttl);
    // Every GET is billed: who was handed a link, to what, for how long, is audited.
    let detail = serde_json::json!({
        "file_id": file.id,
        "owner": file.owner,
        "ttl_seconds": ttl_seconds,
        "disposition": disposition.as_str(),
        "asked_disposition": asked.as_str(),
    });
    let upload = UploadId(file.upload_id);
    let kind = audit::EventKind::DownloadLink;
    audit::record(
        &core.db,
        kind,
        upload,
        UploadState::Committed,
        &who.actor,
        now,
        detail,
    )
    .await?;
    Ok(DownloadLink { url, expires_at })
}

/// Deletes the file: object deleted, session `deleted`. Exactly one of several identical
/// deletes succeeds; the others, like any later one, find no file (`NotFound`), also
/// when they lost the race after reading the file row.
#[tracing::instrument(skip_all, fields(file_id = %id))]
pub async fn delete(core: &Core, who: &Principal, id: FileId) -> CoreResult<()> {
    for _ in 0..CAS_ATTEMPTS {
        match delete_once(core, who, id).await {
            // Lost the race: the next read finds the file gone (or still there).
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            other => return other,
        }
    }
    Err(CoreError::Conflict)
}

async fn delete_once(core: &Core, who: &Principal, id: FileId) -> CoreResult<()> {
    let file = repo::find_owned(&core.db, id, who).await?;
    let session = upload_repo::find(&core.db, UploadId(file.upload_id))
        .await?
        .ok_or(CoreError::NotFound("file"))?;
    // Deleted between the two reads: the file is gone for this request too.
    if session.state == UploadState::Deleted {
        return Err(CoreError::NotFound("file"));
    }
    let ctx = plan_context(core, &session);
    let write = Write::begin(core).await?;
    let detail = serde_json::json!({"file_id": id.to_string()});
    upload_repo::transition(&write, &session, Event::Delete, &who.actor, &ctx, detail).await?;
    repo::remove(write.db(), id).await?;
    write.commit().await?;
    Ok(())
}
