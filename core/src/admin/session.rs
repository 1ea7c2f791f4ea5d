//! One session for an operator: the session, its audit trail and its webhook deliveries;
//! and force-expiry of a live session (the usual cleanup follows through the plan).

use serde_json::json;
use sluice_domain::UploadState;
use sluice_entity::audit_event;

use crate::Core;
use crate::audit::{self, EventKind};
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::upload::SessionView;
use crate::upload::repo::{self, Actor};
use crate::upload::service::plan_context;
use crate::upload::state::{Event, IllegalTransition, has_deadline};

/// A session with its trail.
#[derive(Clone, Debug)]
pub struct SessionDetail {
    pub session: SessionView,
    /// The store (`default` or a `[stores.NAME]`) its object lives in.
    pub store: String,
    /// Oldest first: transitions and the events that are not (links, cleanups, admin).
    pub events: Vec<AuditEventView>,
}

/// One event of a session's audit trail, as adapters get it (never the ORM's row).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEventView {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `transition`, or what else happened (`download_link`, `cleanup`, `admin`).
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor: String,
    pub detail: serde_json::Value,
}

impl From<audit_event::Model> for AuditEventView {
    fn from(e: audit_event::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            kind: e.kind,
            from_state: e.from_state,
            to_state: e.to_state,
            actor: e.actor,
            detail: e.detail,
        }
    }
}

/// Any session, with its audit trail.
pub async fn detail(core: &Core, id: UploadId) -> CoreResult<SessionDetail> {
    let session = repo::find(&core.db, id)
        .await?
        .ok_or(CoreError::NotFound("upload"))?;
    let events = repo::events(&core.db, id).await?;
    Ok(SessionDetail {
        session: SessionView::from(&session),
        store: session.store.clone(),
        events: events.into_iter().map(AuditEventView::from).collect(),
    })
}

/// Expires a live session now, whatever its deadline; the plan owes its cleanup.
#[tracing::instrument(skip_all, fields(upload_id = %id))]
pub async fn force_expire(core: &Core, id: UploadId) -> CoreResult<SessionDetail> {
    let session = repo::find(&core.db, id)
        .await?
        .ok_or(CoreError::NotFound("upload"))?;
    if !has_deadline(session.state) {
        return Err(IllegalTransition {
            from: session.state,
            event: Event::Expire,
        }
        .into());
    }
    let ctx = plan_context(core, &session);
    let facts = json!({"forced": true, "deadline": session.expires_at});
    repo::transition_committed(core, &session, Event::Expire, &Actor::Admin, &ctx, facts).await?;
    let note = json!({"action": "force_expire", "previous_state": session.state.as_str()});
    audit::record(
        &core.db,
        EventKind::Admin,
        id,
        UploadState::Expired,
        &Actor::Admin,
        ctx.plan.now,
        note,
    )
    .await?;
    tracing::info!(
        from = session.state.as_str(),
        "session force-expired by an operator"
    );
    detail(core, id).await
}
