//! One verifier per session at a time. Identical completions racing each other (and the
//! backstop `VerifyUpload` job) would otherwise inspect the store together while one of
//! them assembles a multipart upload, and the others could see the assembly half done: a
//! store error (answered `verifying`) or, on a store that writes in place, a short object
//! (a false rejection, if that one won the compare-and-set).
//!
//! Invariants: only the holder of the lease `verify/<id>` inspects the store for the
//! session, and it re-reads the row once it holds the lease, so it never verifies a
//! session another verifier already settled. A request that finds the lease taken waits
//! (bounded) for the state to change and then answers `Conflict`, which its use case
//! turns into a re-read: the state reached answers it. A verifier that dies lets its
//! lease run out.

use std::time::Duration;

use sluice_entity::upload_session::Model;

use sluice_domain::UploadState;

use super::repo::{self, Actor};
use super::verify::verify;
use super::view::{CompleteOutcome, SessionView};
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::lease;
use crate::storage::PartEtag;

/// How long a verifier may hold the lease before another may take over (by the core's
/// clock): longer than any verification with the store's timeouts.
const LEASE_TTL: Duration = Duration::from_secs(120);

/// How long a request waits for another verifier before answering `verifying`.
const WAIT: Duration = Duration::from_secs(10);

/// How often a waiting request looks at the row again.
const POLL: Duration = Duration::from_millis(50);

/// Verifies the `verifying` `session` unless another verifier is at it; then waits for
/// that one. `Conflict` when the session left `verifying` meanwhile (re-read it).
pub(super) async fn verify_alone(
    core: &Core,
    session: &Model,
    actor: &Actor,
    client_parts: &[PartEtag],
) -> CoreResult<CompleteOutcome> {
    let id = UploadId(session.id);
    let name = format!("verify/{}", session.id);
    let holder = uuid::Uuid::new_v4().to_string();
    let give_up = tokio::time::Instant::now() + WAIT;
    loop {
        if lease::acquire(&core.db, &name, &holder, core.now(), LEASE_TTL).await? {
            let result = match still_verifying(core, id).await {
                Ok(current) => verify(core, current, actor, client_parts).await,
                Err(e) => Err(e),
            };
            if let Err(e) = lease::release(&core.db, &name, &holder).await {
                // It runs out by itself; until then others wait for it, then verify.
                tracing::warn!(upload_id = %session.id, error = %e, "verify lease not released");
            }
            return result;
        }
        if tokio::time::Instant::now() >= give_up {
            let current = still_verifying(core, id).await?;
            return Ok(CompleteOutcome::Deferred(SessionView::from(&current)));
        }
        tokio::time::sleep(POLL).await;
        still_verifying(core, id).await?;
    }
}

/// The session as stored now if it is still `verifying`, else `Conflict`.
async fn still_verifying(core: &Core, id: UploadId) -> CoreResult<Model> {
    match repo::find(&core.db, id).await? {
        Some(current) if current.state == UploadState::Verifying => Ok(current),
        Some(_) => Err(CoreError::Conflict),
        None => Err(CoreError::NotFound("upload")),
    }
}
