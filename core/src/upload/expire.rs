//! Expiry: a live session whose deadline has passed becomes `expired`, and the plan of
//! that transition owes the cleanup of its key. Run by the `ExpireSession` job at the
//! deadline, by the sweep for any session whose job was lost, and by every request that
//! would act on the session (`enforce`), so a deadline holds at the moment of the request
//! even when no worker runs.

use sluice_entity::upload_session::Model;

use sluice_domain::UploadState;

use super::repo::{self, Actor};
use super::service::{CAS_ATTEMPTS, plan_context};
use super::state::{Event, has_deadline};
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;

/// Expires session `id` if its deadline has passed. Returns whether it did; an early or
/// repeated call is a no-op.
pub async fn expire(core: &Core, id: UploadId) -> CoreResult<bool> {
    let Some(session) = repo::find(&core.db, id).await? else {
        return Ok(false);
    };
    expire_model(core, session, &Actor::System).await
}

/// Expires `session` if its deadline has passed.
pub(crate) async fn expire_model(core: &Core, session: Model, actor: &Actor) -> CoreResult<bool> {
    let ctx = plan_context(core, &session);
    if !has_deadline(session.state) || session.expires_at > ctx.plan.now {
        return Ok(false);
    }
    let detail = serde_json::json!({"deadline": session.expires_at});
    repo::transition_committed(core, &session, Event::Expire, actor, &ctx, detail).await?;
    Ok(true)
}

/// The deadline of `session`'s state, enforced at the moment of a request by `actor`: a
/// session whose deadline passed expires now, through the single writer with the plan
/// of `Expire` (cleanup, quota, webhook), and the request is refused with `Expired`. A
/// session already `expired` is refused alike, so the answer does not depend on whether
/// a job, the sweep or this request got there first. Otherwise returns the session as
/// last read (re-read when another writer changed it meanwhile).
pub(crate) async fn enforce(core: &Core, session: Model, actor: &Actor) -> CoreResult<Model> {
    let mut session = session;
    for _ in 0..CAS_ATTEMPTS {
        if session.state == UploadState::Expired {
            return Err(CoreError::Expired);
        }
        match expire_model(core, session.clone(), actor).await {
            Ok(true) => return Err(CoreError::Expired),
            Ok(false) => return Ok(session),
            // Another writer moved it first (a job expiring it, a racing request): what
            // it reached decides. The owner was checked on the first read and never
            // changes.
            Err(CoreError::Conflict | CoreError::Busy(_)) => {
                session = repo::find(&core.db, UploadId(session.id))
                    .await?
                    .ok_or(CoreError::NotFound("upload"))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(CoreError::Conflict)
}

/// The `ExpireSession` job's handler (declared in `crate::jobs`).
impl crate::jobs::RunJob for crate::jobs::ExpireSession {
    async fn run(self, core: &Core) -> CoreResult<crate::jobs::Ran> {
        if expire(core, self.upload_id).await? {
            tracing::info!(upload_id = %self.upload_id, "session expired");
        }
        Ok(crate::jobs::Ran::Done)
    }
}
