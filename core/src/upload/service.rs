//! Upload use cases: get, complete (verification itself is in `verify`), abort; creation
//! is in `create`, part signing in `parts`.
//!
//! Invariants: the profile is applied at create and can never be widened by the request;
//! keys are generated, never built from the filename; owners only ever reach their own
//! sessions; every state change goes through the single writer with the plan the state
//! machine decides, so no use case owes the bucket anything by hand. A request that loses
//! a compare-and-set re-reads, and the state the session reached answers it: identical
//! requests racing each other all get the answer the winner got, never `conflict`. A
//! request on a session whose deadline passed expires it (`expire::enforce`).

use serde_json::json;
use sluice_domain::{Failure, UploadMethod, UploadState};
use sluice_entity::upload_session::Model;

use super::expire;
use super::repo::{self, TransitionContext};
use super::state::{Event, IllegalTransition, PlanContext};
use super::verify_alone::verify_alone;
use super::view::{CompleteOutcome, SessionView};
use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::storage::PartEtag;

/// How often a use case re-reads and retries after losing a compare-and-set race. Each
/// lost race means another writer moved the session on, and a session makes only a few
/// moves (pending, verifying, uploaded, committed, and back to pending when nothing was
/// stored yet), so this bounds the retries of a request racing a handful of identical
/// ones with room for the database's own contention (`Busy`).
pub(crate) const CAS_ATTEMPTS: usize = 8;

/// What a transition of `session` is planned and applied with.
pub fn plan_context<'a>(core: &'a Core, session: &Model) -> TransitionContext<'a> {
    let profile = core.profile_or_default(&session.profile);
    let plan = PlanContext {
        now: core.now(),
        upload_deadline: session.upload_deadline.unwrap_or(crate::clock::add(
            session.created_at,
            profile.upload_ttl.get(),
        )),
        commit_ttl: profile.commit_ttl.chrono(),
        verify_ttl: profile.verify_ttl.chrono(),
        verify_delay: core.settings.queue.verify_delay.chrono(),
        deadline: session.expires_at,
        // A worker reads the bytes: to scan them, or to re-hash a declared digest.
        scan: profile.scan || (profile.rehash && session.sha256.is_some()),
        size: session.size,
        verified_size: None,
        checksum_verified: false,
        sealed: session.sealed_key.is_some(),
        held: session.held_bytes,
    };
    TransitionContext {
        plan,
        webhooks: &core.settings.webhooks,
    }
}

/// The caller's session; asked `with_parts`, a pending multipart session lists the parts
/// the store holds, so a client that lost everything but the id can resume (a billed
/// ListParts, so only when asked: polling a session costs the store nothing).
pub async fn get(
    core: &Core,
    who: &Principal,
    id: UploadId,
    with_parts: bool,
) -> CoreResult<SessionView> {
    let session = repo::find_owned(&core.db, id, who).await?;
    let mut view = SessionView::from(&session);
    if with_parts
        && session.state == UploadState::Pending
        && session.method == UploadMethod::Multipart
    {
        view.uploaded_parts = Some(super::parts::stored(core, &session).await?);
    }
    Ok(view)
}

/// The client says the bytes are up: verify them now, or leave it to a job when the store
/// cannot be asked. Idempotent: a finished session answers with its final state again.
/// Past the upload deadline (or a verifying session's verification deadline) the session
/// expires now and the request is refused with `Expired`.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn complete(
    core: &Core,
    who: &Principal,
    id: UploadId,
    client_parts: &[PartEtag],
) -> CoreResult<CompleteOutcome> {
    for _ in 0..CAS_ATTEMPTS {
        let session = repo::find_owned(&core.db, id, who).await?;
        let session = match expire::enforce(core, session, &who.actor).await {
            Ok(session) => session,
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            Err(e) => return Err(e),
        };
        let result = match session.state {
            UploadState::Pending => {
                let ctx = plan_context(core, &session);
                match repo::transition_committed(
                    core,
                    &session,
                    Event::Complete,
                    &who.actor,
                    &ctx,
                    json!({}),
                )
                .await
                {
                    Ok(verifying) => verify_alone(core, &verifying, &who.actor, client_parts).await,
                    Err(e) => Err(e),
                }
            }
            UploadState::Verifying => verify_alone(core, &session, &who.actor, client_parts).await,
            UploadState::Scanning | UploadState::Uploaded | UploadState::Committed => {
                Ok(CompleteOutcome::Done(SessionView::from(&session)))
            }
            UploadState::Rejected => Err(rejection_of(&session)),
            UploadState::Expired => Err(CoreError::Expired),
            UploadState::Aborted | UploadState::Deleted => Err(IllegalTransition {
                from: session.state,
                event: Event::Complete,
            }
            .into()),
        };
        match result {
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            other => return other,
        }
    }
    Err(CoreError::Conflict)
}

/// The client gives up: `aborted`; the plan owes the cleanup of the key. Aborting an
/// aborted session answers it again; past its deadline the session expires instead
/// (`Expired`), as it would have by its job.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn abort(core: &Core, who: &Principal, id: UploadId) -> CoreResult<SessionView> {
    for _ in 0..CAS_ATTEMPTS {
        let session = repo::find_owned(&core.db, id, who).await?;
        let session = match expire::enforce(core, session, &who.actor).await {
            Ok(session) => session,
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            Err(e) => return Err(e),
        };
        if session.state == UploadState::Aborted {
            return Ok(SessionView::from(&session));
        }
        let ctx = plan_context(core, &session);
        match repo::transition_committed(core, &session, Event::Abort, &who.actor, &ctx, json!({}))
            .await
        {
            Ok(aborted) => {
                return Ok(SessionView::from(&aborted));
            }
            Err(CoreError::Conflict | CoreError::Busy(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CoreError::Conflict)
}

fn rejection_of(session: &Model) -> CoreError {
    CoreError::Rejected {
        failure: session.failure.unwrap_or(Failure::SizeMismatch),
        detail: "the upload was rejected at verification".into(),
    }
}
