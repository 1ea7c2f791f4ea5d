//! File use cases. Commit and delete change the session through the upload repository's
//! `transition`, in the same transaction as the `files` row, so a file exists exactly
//! while its session is `committed`.

use sea_orm::TransactionTrait;
use sluice_entity::file::Model;
use sluice_entity::upload_session::UploadState;

use super::repo;
use super::view::{DownloadLink, DownloadRequest, FileView};
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::{FileId, UploadId};
use crate::naming::content_disposition;
use crate::storage::GetOverrides;
use crate::upload::repo::{self as upload_repo, Changes};
use crate::upload::service::{delete_job, delete_now};
use crate::upload::state::Event;

/// The application keeps the upload: session `committed`, a file row created.
/// Committing a committed session returns its file again.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn commit(core: &Core, who: &Principal, id: UploadId) -> CoreResult<FileView> {
    let session = upload_repo::find_owned(&core.db, id, &who.owner).await?;
    if session.state == UploadState::Committed {
        let file = repo::find_by_upload(&core.db, UploadId(session.id)).await?;
        return Ok(FileView::from(&file));
    }
    let txn = core.db.begin().await?;
    let committed = upload_repo::transition(
        &txn,
        &session,
        Event::Commit,
        &who.actor,
        Changes::default(),
    )
    .await?;
    let file = repo::insert(
        &txn,
        Model {
            id: FileId::new().0,
            upload_id: committed.id,
            owner: committed.owner.clone(),
            profile: committed.profile.clone(),
            filename: committed.filename.clone(),
            size: committed.size,
            content_type: committed.content_type.clone(),
            sha256: committed.sha256.clone(),
            key: committed.key.clone(),
            created_at: crate::clock::now(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(FileView::from(&file))
}

pub async fn get(core: &Core, who: &Principal, id: FileId) -> CoreResult<FileView> {
    Ok(FileView::from(
        &repo::find_owned(&core.db, id, &who.owner).await?,
    ))
}

/// A presigned GET restoring the original filename and the stored content type.
pub async fn download_link(
    core: &Core,
    who: &Principal,
    id: FileId,
    req: DownloadRequest,
) -> CoreResult<DownloadLink> {
    let file = repo::find_owned(&core.db, id, &who.owner).await?;
    let profile = core.profile_or_default(&file.profile);
    let max = profile.download_ttl.get().as_secs();
    let ttl = req.ttl_seconds.unwrap_or(max);
    if ttl == 0 || ttl > max {
        return Err(CoreError::invalid(
            "ttl_seconds",
            format!("must be between 1 and {max}"),
        ));
    }
    let disposition = req.disposition.unwrap_or(profile.disposition);
    let overrides = GetOverrides {
        content_disposition: content_disposition(disposition, &file.filename),
        content_type: file.content_type.clone(),
    };
    let ttl = std::time::Duration::from_secs(ttl);
    let url = core.store.presign_get(&file.key, &overrides, ttl).await?;
    let expires_at = crate::clock::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    Ok(DownloadLink { url, expires_at })
}

/// Deletes the file: object deleted, session `deleted`.
#[tracing::instrument(skip_all, fields(file_id = %id))]
pub async fn delete(core: &Core, who: &Principal, id: FileId) -> CoreResult<()> {
    let file = repo::find_owned(&core.db, id, &who.owner).await?;
    let session = upload_repo::find(&core.db, UploadId(file.upload_id))
        .await?
        .ok_or(CoreError::NotFound("file"))?;
    let txn = core.db.begin().await?;
    let changes = Changes {
        jobs: vec![delete_job(&session)],
        ..Changes::default()
    };
    let deleted =
        upload_repo::transition(&txn, &session, Event::Delete, &who.actor, changes).await?;
    repo::remove(&txn, id).await?;
    txn.commit().await?;
    delete_now(core, &deleted).await;
    Ok(())
}
