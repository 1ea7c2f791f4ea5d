//! The periodic backstop: expires live sessions whose deadline passed but whose
//! `ExpireSession` job was lost or has not run. Safe to run on any number of workers at
//! once: each expiry is a compare-and-set transition.

use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::upload::{repo, service};

/// How many overdue sessions one pass handles; the next pass takes the rest.
const BATCH: u64 = 500;

/// Expires overdue sessions; returns how many this pass expired.
pub async fn expire_overdue(core: &Core) -> CoreResult<usize> {
    let overdue = repo::overdue(&core.db, crate::clock::now(), BATCH).await?;
    let mut expired = 0;
    for session in overdue {
        match service::expire_model(core, session, &repo::Actor::System).await {
            Ok(true) => expired += 1,
            Ok(false) | Err(CoreError::Conflict) => {}
            Err(e) => tracing::warn!(error = %e, "sweep could not expire a session"),
        }
    }
    Ok(expired)
}
