//! Upload use cases: create, get, complete (verify), abort, commit, expire.
//!
//! Invariants: the profile is applied at create and can never be widened by the request;
//! keys are generated, never built from the filename; owners only ever reach their own
//! sessions; leaving a live state always schedules the object's deletion through the
//! outbox (and tries it at once), so the bucket ends up holding only committed files.

use serde_json::json;
use sluice_entity::upload_session::{Model, UploadMethod, UploadState};

use super::repo::{self, Actor, Changes};
use super::state::{Event, IllegalTransition};
use super::view::{CompleteOutcome, CreateUpload, CreatedUpload, SessionView};
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult, RejectCode};
use crate::ids::UploadId;
use crate::jobs::{DeleteObject, ExpireSession, Job, NewJob, VerifyUpload};
use crate::naming;
use crate::storage::PutConditions;

/// How often a use case re-reads and retries after losing a compare-and-set race.
const CAS_ATTEMPTS: usize = 3;

/// Creates a `pending` session and presigns its PUT.
#[tracing::instrument(skip_all, fields(owner = %who.owner, profile = %req.profile))]
pub async fn create(core: &Core, who: &Principal, req: CreateUpload) -> CoreResult<CreatedUpload> {
    let profile = core.profile(&req.profile)?;
    if !who.may_use_profile(&req.profile) {
        return Err(CoreError::ProfileNotAllowed(req.profile));
    }
    let content_type = naming::normalize_content_type(&req.content_type).ok_or_else(|| {
        CoreError::invalid("content_type", "must be a media type such as image/png")
    })?;
    if req.size > profile.max_size.bytes() {
        return Err(CoreError::TooLarge {
            size: req.size,
            limit: profile.max_size.bytes(),
        });
    }
    if !naming::content_type_allowed(&content_type, &profile.content_types) {
        return Err(CoreError::TypeNotAllowed(content_type));
    }
    let filename = naming::sanitize_filename(&req.filename);
    if !profile.extensions.is_empty() {
        let ext = naming::extension_of(&filename).unwrap_or_default();
        if !profile.extensions.contains(&ext) {
            return Err(CoreError::ExtensionNotAllowed(ext));
        }
    }
    let size = i64::try_from(req.size).map_err(|_| CoreError::invalid("size", "too large"))?;
    let id = UploadId::new();
    let now = crate::clock::now();
    let expires_at = now + profile.upload_ttl.chrono();
    let session = Model {
        id: id.0,
        owner: who.owner.clone(),
        profile: req.profile.clone(),
        filename,
        size,
        content_type: content_type.clone(),
        sha256: req.sha256,
        metadata: json!(req.metadata),
        key: naming::object_key(&profile.key_prefix, &who.owner, id),
        method: UploadMethod::Put,
        state: UploadState::Pending,
        version: 0,
        one_time: profile.one_time,
        failure: None,
        expires_at,
        created_at: now,
        updated_at: now,
    };
    // Presign before writing: it is offline and cannot fail for a store outage, and a
    // failure here leaves no row behind.
    let conditions = PutConditions {
        content_type,
        content_length: req.size,
        one_time: profile.one_time,
    };
    let put = core
        .store
        .presign_put(&session.key, &conditions, profile.upload_ttl.get())
        .await?;
    let expire = NewJob::at(
        Job::ExpireSession(ExpireSession { upload_id: id }),
        expires_at,
    );
    let session = repo::insert(&core.db, session, &who.actor, &[expire]).await?;
    core.relay.wake();
    Ok(CreatedUpload {
        session: SessionView::from(&session),
        put,
    })
}

/// The caller's session.
pub async fn get(core: &Core, who: &Principal, id: UploadId) -> CoreResult<SessionView> {
    let session = repo::find_owned(&core.db, id, &who.owner).await?;
    Ok(SessionView::from(&session))
}

/// The client says the bytes are up: verify them now, or leave it to a job when the store
/// cannot be asked. Idempotent: a finished session answers with its final state again.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn complete(core: &Core, who: &Principal, id: UploadId) -> CoreResult<CompleteOutcome> {
    for _ in 0..CAS_ATTEMPTS {
        let session = repo::find_owned(&core.db, id, &who.owner).await?;
        let result = match session.state {
            UploadState::Pending => match begin_verification(core, &session, &who.actor).await {
                Ok(verifying) => verify(core, verifying, &who.actor).await,
                Err(e) => Err(e),
            },
            UploadState::Verifying => verify(core, session, &who.actor).await,
            UploadState::Uploaded | UploadState::Committed => {
                Ok(CompleteOutcome::Done(SessionView::from(&session)))
            }
            UploadState::Rejected => Err(rejection_of(&session)),
            UploadState::Aborted | UploadState::Expired | UploadState::Deleted => {
                Err(IllegalTransition {
                    from: session.state,
                    event: Event::Complete,
                }
                .into())
            }
        };
        match result {
            Err(CoreError::Conflict) => continue,
            other => return other,
        }
    }
    Err(CoreError::Conflict)
}

async fn begin_verification(core: &Core, session: &Model, actor: &Actor) -> CoreResult<Model> {
    let backstop = crate::clock::now() + core.settings.queue.verify_delay.chrono();
    let job = NewJob::at(
        Job::VerifyUpload(VerifyUpload {
            upload_id: UploadId(session.id),
        }),
        backstop,
    );
    let changes = Changes {
        jobs: vec![job],
        ..Changes::default()
    };
    let verifying = repo::transition(&core.db, session, Event::Complete, actor, changes).await?;
    core.relay.wake();
    Ok(verifying)
}

/// Checks a `verifying` session's object and moves it to `uploaded`, `rejected` or back to
/// `pending`. A store outage leaves it `verifying` (`Deferred`).
async fn verify(core: &Core, session: Model, actor: &Actor) -> CoreResult<CompleteOutcome> {
    let head = match core.store.head(&session.key).await {
        Ok(head) => head,
        Err(e) => {
            tracing::warn!(error = %e, "store unreachable at verification; a job will retry");
            return Ok(CompleteOutcome::Deferred(SessionView::from(&session)));
        }
    };
    let Some(meta) = head else {
        repo::transition(
            &core.db,
            &session,
            Event::NotStored,
            actor,
            Changes::default(),
        )
        .await?;
        return Err(CoreError::NotUploaded);
    };
    let declared = u64::try_from(session.size).unwrap_or(0);
    let stored_type = meta.content_type.as_deref().map(essence);
    let failure = if meta.size != declared {
        Some((
            RejectCode::SizeMismatch,
            format!("declared {declared} bytes, the store holds {}", meta.size),
        ))
    } else if stored_type.is_some_and(|t| t != essence(&session.content_type)) {
        Some((
            RejectCode::TypeMismatch,
            format!(
                "declared {}, the store holds {}",
                session.content_type,
                meta.content_type.unwrap_or_default()
            ),
        ))
    } else {
        None
    };
    if let Some((code, detail)) = failure {
        let changes = Changes {
            failure: Some(code.code().to_owned()),
            jobs: vec![delete_job(&session)],
            detail: json!({"code": code.code(), "stored_size": meta.size}),
            ..Changes::default()
        };
        let rejected =
            repo::transition(&core.db, &session, Event::VerifyFailed, actor, changes).await?;
        delete_now(core, &rejected).await;
        return Err(CoreError::Rejected { code, detail });
    }
    let profile = core.profile_or_default(&session.profile);
    let commit_deadline = crate::clock::now() + profile.commit_ttl.chrono();
    let expire = NewJob::at(
        Job::ExpireSession(ExpireSession {
            upload_id: UploadId(session.id),
        }),
        commit_deadline,
    );
    let changes = Changes {
        expires_at: Some(commit_deadline),
        jobs: vec![expire],
        detail: json!({"stored_size": meta.size, "etag": meta.etag}),
        ..Changes::default()
    };
    let uploaded = repo::transition(&core.db, &session, Event::Verified, actor, changes).await?;
    core.relay.wake();
    Ok(CompleteOutcome::Done(SessionView::from(&uploaded)))
}

/// The job side of verification: finishes a session left in `verifying`. A store outage is
/// an error so the job is retried; anything else is settled.
pub async fn verify_pending(core: &Core, id: UploadId) -> CoreResult<()> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(());
    };
    if session.state != UploadState::Verifying {
        return Ok(());
    }
    match verify(core, session, &Actor::System).await {
        Ok(CompleteOutcome::Deferred(_)) => Err(CoreError::Storage("store unreachable".into())),
        Ok(CompleteOutcome::Done(_)) | Err(CoreError::NotUploaded | CoreError::Rejected { .. }) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The client gives up: `aborted`, object deleted.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn abort(core: &Core, who: &Principal, id: UploadId) -> CoreResult<SessionView> {
    for _ in 0..CAS_ATTEMPTS {
        let session = repo::find_owned(&core.db, id, &who.owner).await?;
        if session.state == UploadState::Aborted {
            return Ok(SessionView::from(&session));
        }
        let changes = Changes {
            jobs: vec![delete_job(&session)],
            ..Changes::default()
        };
        match repo::transition(&core.db, &session, Event::Abort, &who.actor, changes).await {
            Ok(aborted) => {
                delete_now(core, &aborted).await;
                return Ok(SessionView::from(&aborted));
            }
            Err(CoreError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CoreError::Conflict)
}

/// Expires the session if its deadline has passed (the `ExpireSession` job). Returns
/// whether it expired it. Early or repeated deliveries are no-ops.
pub async fn expire(core: &Core, id: UploadId) -> CoreResult<bool> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(false);
    };
    expire_model(core, session, &Actor::System).await
}

pub(crate) async fn expire_model(core: &Core, session: Model, actor: &Actor) -> CoreResult<bool> {
    if !crate::upload::state::has_deadline(session.state)
        || session.expires_at > crate::clock::now()
    {
        return Ok(false);
    }
    let changes = Changes {
        jobs: vec![delete_job(&session)],
        detail: json!({"deadline": session.expires_at}),
        ..Changes::default()
    };
    let expired = repo::transition(&core.db, &session, Event::Expire, actor, changes).await?;
    delete_now(core, &expired).await;
    Ok(true)
}

/// Deletes the object of a session that left the books (the `DeleteObject` job).
pub async fn delete_object(core: &Core, job: &DeleteObject) -> CoreResult<()> {
    // Never delete the object of a session that is (again) meant to keep it.
    if let Some(session) = repo::find(&core.db, job.upload_id).await?
        && matches!(
            session.state,
            UploadState::Uploaded | UploadState::Committed
        )
    {
        return Ok(());
    }
    core.store.delete(&job.key).await
}

pub(crate) fn delete_job(session: &Model) -> NewJob {
    NewJob::now(Job::DeleteObject(DeleteObject {
        upload_id: UploadId(session.id),
        key: session.key.clone(),
    }))
}

/// Tries the deletion at once; the outbox job written with the transition retries it.
pub(crate) async fn delete_now(core: &Core, session: &Model) {
    core.relay.wake();
    if let Err(e) = core.store.delete(&session.key).await {
        tracing::warn!(error = %e, upload_id = %session.id, "object deletion deferred to a job");
    }
}

fn rejection_of(session: &Model) -> CoreError {
    let code = session
        .failure
        .as_deref()
        .and_then(RejectCode::from_code)
        .unwrap_or(RejectCode::SizeMismatch);
    CoreError::Rejected {
        code,
        detail: "the upload was rejected at verification".into(),
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
