//! The only code that writes the `upload_sessions` row.
//!
//! Invariants: a state change happens only through `transition`, which asks
//! `state::next` for the target, updates `WHERE id AND state AND version` (so exactly one
//! of two racing writers wins; the loser gets `Conflict`), and in the same transaction
//! appends the audit event and the outbox jobs the transition triggers.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use sluice_entity::audit_event;
use sluice_entity::upload_session::{self, Column, Entity, Model, UploadState};

use super::state::{self, Event};
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::jobs::NewJob;
use crate::outbox;

/// Who caused a change, as written to the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Owner(String),
    Service { owner: String },
    Admin,
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Owner(owner) => format!("owner:{owner}"),
            Actor::Service { owner } => format!("service:{owner}"),
            Actor::Admin => "admin".into(),
            Actor::System => "system".into(),
        }
    }
}

/// What a transition changes besides the state.
#[derive(Debug, Default)]
pub struct Changes {
    /// New deadline of the target state.
    pub expires_at: Option<DateTime<Utc>>,
    /// Code of the failed check, for `rejected`.
    pub failure: Option<String>,
    /// Jobs triggered by the transition.
    pub jobs: Vec<NewJob>,
    /// Extra audit detail (sizes, codes).
    pub detail: serde_json::Value,
}

/// Inserts a new `pending` session with its creation event and jobs.
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: Model,
    actor: &Actor,
    jobs: &[NewJob],
) -> CoreResult<Model> {
    let am = upload_session::ActiveModel {
        id: Set(session.id),
        owner: Set(session.owner.clone()),
        profile: Set(session.profile.clone()),
        filename: Set(session.filename.clone()),
        size: Set(session.size),
        content_type: Set(session.content_type.clone()),
        sha256: Set(session.sha256.clone()),
        metadata: Set(session.metadata.clone()),
        key: Set(session.key.clone()),
        method: Set(session.method),
        state: Set(UploadState::Pending),
        version: Set(0),
        one_time: Set(session.one_time),
        failure: Set(None),
        expires_at: Set(session.expires_at),
        created_at: Set(session.created_at),
        updated_at: Set(session.updated_at),
    };
    // One transaction (a savepoint inside a caller's): row, audit event and jobs together.
    let txn = db.begin().await?;
    Entity::insert(am).exec_without_returning(&txn).await?;
    append_audit(
        &txn,
        session.id,
        None,
        UploadState::Pending,
        actor,
        json!({"event": "create", "size": session.size}),
    )
    .await?;
    outbox::append(&txn, jobs).await?;
    txn.commit().await?;
    Ok(Model {
        state: UploadState::Pending,
        version: 0,
        failure: None,
        ..session
    })
}

/// The session, whoever owns it (workers, admin).
pub async fn find<C: ConnectionTrait>(db: &C, id: UploadId) -> CoreResult<Option<Model>> {
    Ok(Entity::find_by_id(id.0).one(db).await?)
}

/// The session if `owner` owns it; another owner's session is simply not found.
pub async fn find_owned<C: ConnectionTrait>(
    db: &C,
    id: UploadId,
    owner: &str,
) -> CoreResult<Model> {
    Entity::find_by_id(id.0)
        .filter(Column::Owner.eq(owner))
        .one(db)
        .await?
        .ok_or(CoreError::NotFound("upload"))
}

/// Live sessions whose deadline passed before `now`, oldest deadline first.
pub async fn overdue<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::State.is_in([
            UploadState::Pending.as_str(),
            UploadState::Verifying.as_str(),
            UploadState::Uploaded.as_str(),
        ]))
        .filter(Column::ExpiresAt.lt(now))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Moves `session` along `event`, compare-and-set on its state and version.
pub async fn transition<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: &Model,
    event: Event,
    actor: &Actor,
    changes: Changes,
) -> CoreResult<Model> {
    let to = state::next(session.state, event)?;
    let now = crate::clock::now();
    let version = session.version + 1;
    let mut update = Entity::update_many()
        .col_expr(Column::State, Expr::value(to.as_str()))
        .col_expr(Column::Version, Expr::value(version))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(expires_at) = changes.expires_at {
        update = update.col_expr(Column::ExpiresAt, Expr::value(expires_at));
    }
    if let Some(failure) = &changes.failure {
        update = update.col_expr(Column::Failure, Expr::value(failure.clone()));
    }
    // One transaction (a savepoint inside a caller's): row, audit event and jobs together.
    let txn = db.begin().await?;
    let result = update
        .filter(Column::Id.eq(session.id))
        .filter(Column::State.eq(session.state.as_str()))
        .filter(Column::Version.eq(session.version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(CoreError::Conflict);
    }
    let mut detail = changes.detail;
    if !detail.is_object() {
        detail = json!({});
    }
    detail["event"] = json!(event.as_str());
    append_audit(&txn, session.id, Some(session.state), to, actor, detail).await?;
    outbox::append(&txn, &changes.jobs).await?;
    txn.commit().await?;
    Ok(Model {
        state: to,
        version,
        updated_at: now,
        expires_at: changes.expires_at.unwrap_or(session.expires_at),
        failure: changes.failure.or_else(|| session.failure.clone()),
        ..session.clone()
    })
}

async fn append_audit<C: ConnectionTrait>(
    db: &C,
    upload_id: uuid::Uuid,
    from: Option<UploadState>,
    to: UploadState,
    actor: &Actor,
    detail: serde_json::Value,
) -> CoreResult<()> {
    audit_event::ActiveModel {
        upload_id: Set(upload_id),
        at: Set(crate::clock::now()),
        from_state: Set(from.map(|s| s.as_str().to_owned())),
        to_state: Set(to.as_str().to_owned()),
        actor: Set(actor.label()),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The audit trail of a session, oldest first.
pub async fn events<C: ConnectionTrait>(
    db: &C,
    id: UploadId,
) -> CoreResult<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::UploadId.eq(id.0))
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await?)
}
