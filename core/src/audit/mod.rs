//! The audit stream: every transition (written by the single writer in its transaction)
//! and the events that are not transitions but matter for cost and abuse analysis
//! (download links issued, cleanups performed, admin actions), in one table ordered by id,
//! shipped to configured sinks by `sink`.

pub mod sink;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use sluice_domain::UploadState;
use sluice_entity::audit_event;

use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::upload::repo::Actor;

/// A kind of event that is not a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A presigned download URL was handed out.
    DownloadLink,
    /// The bucket was cleaned under a session's key.
    Cleanup,
    /// An operator acted on a session.
    Admin,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DownloadLink => "download_link",
            EventKind::Cleanup => "cleanup",
            EventKind::Admin => "admin",
        }
    }
}

/// Appends an event that is not a transition; `state` is the session's state then.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    kind: EventKind,
    upload_id: UploadId,
    state: UploadState,
    actor: &Actor,
    at: DateTime<Utc>,
    detail: serde_json::Value,
) -> CoreResult<()> {
    audit_event::ActiveModel {
        upload_id: Set(upload_id.0),
        at: Set(at),
        from_state: Set(None),
        to_state: Set(state.as_str().to_owned()),
        actor: Set(actor.label()),
        detail: Set(detail),
        kind: Set(kind.as_str().to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One event that is not a transition, for `record_many`.
#[derive(Clone, Debug)]
pub struct Note {
    pub upload_id: UploadId,
    pub state: UploadState,
    pub detail: serde_json::Value,
}

/// Appends many events of one kind, actor and time in one statement (a batch cleanup).
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    kind: EventKind,
    actor: &Actor,
    at: DateTime<Utc>,
    notes: Vec<Note>,
) -> CoreResult<()> {
    for chunk in notes.chunks(500) {
        let rows = chunk.iter().map(|note| audit_event::ActiveModel {
            upload_id: Set(note.upload_id.0),
            at: Set(at),
            from_state: Set(None),
            to_state: Set(note.state.as_str().to_owned()),
            actor: Set(actor.label()),
            detail: Set(note.detail.clone()),
            kind: Set(kind.as_str().to_owned()),
            ..Default::default()
        });
        audit_event::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
