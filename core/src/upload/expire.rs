//! Expiry: a live session whose deadline has passed becomes `expired`, and the plan of
//! that transition owes the cleanup of its key. Run by the `ExpireSession` job at the
//! deadline and by the sweep for any session whose job was lost.

use sluice_entity::upload_session::Model;

use super::repo::{self, Actor};
use super::service::plan_context;
use super::state::{Event, has_deadline};
use crate::Core;
use crate::error::CoreResult;
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
    repo::transition(&core.db, &session, Event::Expire, actor, &ctx, detail).await?;
    core.relay.wake();
    Ok(true)
}
