//! Writing many new sessions at once (a batch create): the sessions, their creation
//! events and their expiry jobs as multi-row INSERTs, and the batch's quota reserved as
//! one sum per scope, in the caller's transaction.
//!
//! Invariants, the same as a single `insert`'s: every row is `pending`, unversioned and
//! owes nothing, whatever the caller filled in; the quota reservation refuses before any
//! session row is written, and refuses the whole (all items fit, or none is written).

use chrono::{DateTime, Utc};
use sea_orm::{EntityTrait, Set};
use serde_json::json;
use sluice_domain::UploadState;
use sluice_entity::audit_event;
use sluice_entity::upload_session::{self, Entity, Model};

use super::Actor;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::jobs::{ExpireSession, NewJob};
use crate::quota::{self, Reservation};
use crate::write::Write;

/// Rows per INSERT: well under SQLite's 32,766 bound parameters at ~30 columns a row.
const ROWS_PER_INSERT: usize = 200;

/// Inserts `sessions` (all of `owner`) with their reservations, creation events and expiry
/// jobs inside `write`; `scoped` is the sum per scope, in lock order.
pub async fn insert_many(
    write: &Write,
    owner: &str,
    sessions: Vec<Model>,
    actor: &Actor,
    scoped: &[(&quota::Scope, Reservation)],
    now: DateTime<Utc>,
) -> CoreResult<Vec<Model>> {
    let txn = write.db();
    quota::repo::reserve_many(txn, owner, scoped, now).await?;
    let sessions: Vec<Model> = sessions
        .into_iter()
        .map(|session| Model {
            state: UploadState::Pending,
            version: 0,
            failure: None,
            checksum_verified: false,
            upload_deadline: Some(session.expires_at),
            cleanup_due_at: None,
            cleaned_at: None,
            sealed_key: None,
            held_bytes: 0,
            ..session
        })
        .collect();
    for chunk in sessions.chunks(ROWS_PER_INSERT) {
        let rows = chunk.iter().map(|s| {
            let mut am: upload_session::ActiveModel = s.clone().into();
            am.state = Set(UploadState::Pending);
            am
        });
        Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        let events = chunk.iter().map(|s| audit_event::ActiveModel {
            upload_id: Set(s.id),
            at: Set(s.created_at),
            from_state: Set(None),
            to_state: Set(UploadState::Pending.as_str().to_owned()),
            actor: Set(actor.label()),
            detail: Set(json!({"event": "create", "size": s.size, "batch_id": s.batch_id})),
            ..Default::default()
        });
        audit_event::Entity::insert_many(events)
            .exec_without_returning(txn)
            .await?;
    }
    let jobs: Vec<NewJob> = sessions
        .iter()
        .map(|s| {
            NewJob::at(
                ExpireSession {
                    upload_id: UploadId(s.id),
                },
                s.expires_at,
            )
        })
        .collect();
    write.append(now, &jobs).await?;
    Ok(sessions)
}
