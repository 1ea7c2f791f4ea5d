//! The only code that writes the `upload_sessions` row.
//!
//! Invariants: a state change happens only through `transition`, which asks
//! `state::plan` for the target and its effects, updates `WHERE id AND state AND version`
//! (so exactly one of two racing writers wins; the loser gets `Conflict`), and in the same
//! transaction applies the whole plan: deadline, failure, owed cleanup, audit event and
//! the jobs it owes. Cleanup bookkeeping (`record_cleanup`) never touches the state.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use sluice_entity::audit_event;
use sluice_entity::upload_session::{self, Column, Entity, Model, UploadState};

pub mod batch;

pub use batch::{BatchItem, transition_batch};

use super::state::{self, Event, OwedJob, Plan, PlanContext};
use crate::config::WebhookSettings;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::jobs::{CleanupSession, ExpireSession, NewJob, VerifyUpload};
use crate::outbox;
use crate::quota;
use crate::webhooks::Notice;

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

/// Inserts a new `pending` session with its quota reservation in `scopes` (refused with
/// `QuotaExceeded` before anything is written), its creation event and the expiry of its
/// upload deadline (`session.expires_at`).
pub async fn insert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: Model,
    actor: &Actor,
    scopes: &[quota::Scope],
) -> CoreResult<Model> {
    // A new session is pending, unversioned, unrejected and owes nothing, whatever the
    // caller filled in.
    let session = Model {
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
    };
    let mut am: upload_session::ActiveModel = session.clone().into();
    // Spelled out: the single-writer test looks for every write of the state column.
    am.state = Set(UploadState::Pending);
    let expire = NewJob::at(
        ExpireSession {
            upload_id: UploadId(session.id),
        },
        session.expires_at,
    );
    // One transaction (a savepoint inside a caller's): row, audit event and jobs together.
    let txn = db.begin().await?;
    let size = u64::try_from(session.size).unwrap_or(0);
    quota::repo::reserve(&txn, &session.owner, scopes, session.created_at, size).await?;
    Entity::insert(am).exec_without_returning(&txn).await?;
    append_audit(
        &txn,
        session.id,
        session.created_at,
        None,
        UploadState::Pending,
        actor,
        json!({"event": "create", "size": session.size}),
    )
    .await?;
    outbox::append(&txn, session.created_at, &[expire]).await?;
    txn.commit().await?;
    Ok(session)
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

/// What a transition is planned and applied with: the facts of the plan, and the
/// webhook endpoints that may want to hear of it.
#[derive(Clone, Copy, Debug)]
pub struct TransitionContext<'a> {
    pub plan: PlanContext,
    pub webhooks: &'a WebhookSettings,
}

/// Moves `session` along `event` and applies everything the plan implies, compare-and-set
/// on its state and version: a batch of one (`batch::transition_batch`), so single and
/// set-based transitions are one code path. `detail` adds facts (sizes, codes) to the
/// audit event. `IllegalTransition` for an edge the state machine does not know,
/// `Conflict` when another writer moved the row first.
pub async fn transition<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: &Model,
    event: Event,
    actor: &Actor,
    ctx: &TransitionContext<'_>,
    detail: serde_json::Value,
) -> CoreResult<Model> {
    state::plan(session.state, event, &ctx.plan)?;
    let item = batch::BatchItem {
        session: session.clone(),
        plan: ctx.plan,
        detail,
    };
    let moved =
        batch::transition_batch(db, vec![item], event, actor, ctx.webhooks, ctx.plan.now).await?;
    moved.into_iter().next().ok_or(CoreError::Conflict)
}

/// The webhook payload of a transition: the type, the time, and the session as clients
/// see it (never a presigned URL or a secret), with the file's id where there is one.
fn notice_payload(
    notice: Notice,
    session: &Model,
    detail: &serde_json::Value,
    now: DateTime<Utc>,
) -> serde_json::Value {
    let mut upload = json!({
        "id": session.id,
        "state": session.state.as_str(),
        "owner": session.owner,
        "profile": session.profile,
        "filename": session.filename,
        "size": session.size,
        "content_type": session.content_type,
        "key": session.sealed_key.as_deref().unwrap_or(&session.key),
        "method": session.method,
        "metadata": session.metadata,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    });
    if let Some(failure) = session.failure {
        upload["failure"] = json!(failure.code());
    }
    let mut data = json!({ "upload": upload });
    if let Some(file_id) = detail.get("file_id") {
        data["file_id"] = file_id.clone();
    }
    json!({
        "type": notice.event_type(),
        "timestamp": now,
        "data": data,
    })
}

/// The job rows a plan owes.
fn owed_jobs(upload_id: UploadId, plan: &Plan, now: DateTime<Utc>) -> Vec<NewJob> {
    plan.jobs
        .iter()
        .map(|owed| match *owed {
            OwedJob::ExpireAt(at) => NewJob::at(ExpireSession { upload_id }, at),
            OwedJob::VerifyAt(at) => NewJob::at(VerifyUpload { upload_id }, at),
            OwedJob::CleanupNow => NewJob::at(CleanupSession { upload_id }, now),
        })
        .collect()
}

/// Records a finished cleanup round of `session` (whose `cleanup_due_at` was `due`): either
/// another round is owed at `again_at` (written with its job), or the key is clean for
/// good, and the bytes it held against quota (`held_bytes`) are released in the same
/// transaction. A compare-and-set on `cleanup_due_at`, so two racing rounds record once.
pub async fn record_cleanup<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: &Model,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    again_at: Option<DateTime<Utc>>,
) -> CoreResult<bool> {
    let txn = db.begin().await?;
    let update = Entity::update_many()
        .col_expr(Column::CleanupDueAt, Expr::value(again_at))
        .filter(Column::Id.eq(session.id))
        .filter(Column::CleanupDueAt.eq(due));
    let update = match again_at {
        Some(_) => update,
        None => update
            .col_expr(Column::CleanedAt, Expr::value(now))
            .col_expr(Column::HeldBytes, Expr::value(0i64)),
    };
    // Compare-and-set on the hold too: a transition that changed it since the round read
    // the row makes this round record nothing (its own round follows).
    let update = update.filter(Column::HeldBytes.eq(session.held_bytes));
    if update.exec(&txn).await?.rows_affected != 1 {
        return Ok(false);
    }
    if again_at.is_none() && session.held_bytes != 0 {
        let scopes = quota::scope_names(&session.profile);
        let created = quota::day_of(session.created_at);
        let release = state::QuotaChange {
            reserved_bytes: -session.held_bytes,
            ..Default::default()
        };
        quota::repo::apply(&txn, &session.owner, &scopes, created, release).await?;
    }
    if let Some(at) = again_at {
        let upload_id = UploadId(session.id);
        outbox::append(&txn, now, &[NewJob::at(CleanupSession { upload_id }, at)]).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Sessions whose owed cleanup was due before `cutoff`, oldest first.
pub async fn cleanup_overdue<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::CleanupDueAt.lte(cutoff))
        .order_by_asc(Column::CleanupDueAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Which of the multipart `upload_ids` belong to a live (pending or verifying) session.
pub async fn live_multipart_ids<C: ConnectionTrait>(
    db: &C,
    upload_ids: &[String],
) -> CoreResult<Vec<String>> {
    if upload_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut owned = Vec::new();
    // Bounded IN lists: a bucket may hold thousands of uploads in progress.
    for chunk in upload_ids.chunks(500) {
        let ids: Vec<Option<String>> = Entity::find()
            .select_only()
            .column(Column::MultipartUploadId)
            .filter(Column::MultipartUploadId.is_in(chunk.iter().cloned()))
            .filter(Column::State.is_in([
                UploadState::Pending.as_str(),
                UploadState::Verifying.as_str(),
            ]))
            .into_tuple()
            .all(db)
            .await?;
        owned.extend(ids.into_iter().flatten());
    }
    Ok(owned)
}

/// How many sessions are in each state (every state, zero included).
pub async fn count_by_state<C: ConnectionTrait>(db: &C) -> CoreResult<Vec<(UploadState, i64)>> {
    let rows: Vec<(String, i64)> = Entity::find()
        .select_only()
        .column(Column::State)
        .expr(sea_orm::sea_query::Func::count(Expr::col(Column::Id)))
        .group_by(Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(UploadState::ALL
        .into_iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map_or(0, |(_, n)| *n);
            (s, n)
        })
        .collect())
}

/// Sessions owing a cleanup: all of them, and those due before `overdue_before`.
pub async fn cleanups_owed<C: ConnectionTrait>(
    db: &C,
    overdue_before: DateTime<Utc>,
) -> CoreResult<(i64, i64)> {
    use sea_orm::PaginatorTrait;
    let all = Entity::find()
        .filter(Column::CleanupDueAt.is_not_null())
        .count(db)
        .await?;
    let overdue = Entity::find()
        .filter(Column::CleanupDueAt.lte(overdue_before))
        .count(db)
        .await?;
    Ok((
        i64::try_from(all).unwrap_or(i64::MAX),
        i64::try_from(overdue).unwrap_or(i64::MAX),
    ))
}

/// Sessions `verifying` since before `cutoff`.
pub async fn verifying_since<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::State.eq(UploadState::Verifying.as_str()))
        .filter(Column::UpdatedAt.lte(cutoff))
        .order_by_asc(Column::UpdatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

async fn append_audit<C: ConnectionTrait>(
    db: &C,
    upload_id: uuid::Uuid,
    at: DateTime<Utc>,
    from: Option<UploadState>,
    to: UploadState,
    actor: &Actor,
    detail: serde_json::Value,
) -> CoreResult<()> {
    audit_event::ActiveModel {
        upload_id: Set(upload_id),
        at: Set(at),
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
