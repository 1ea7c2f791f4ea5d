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

use super::state::{self, Event, OwedJob, Plan, PlanContext};
use crate::auth::Principal;
use crate::config::WebhookSettings;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::jobs::{CleanupSession, ExpireSession, NewJob, VerifyUpload};
use crate::outbox;
use crate::quota;
use crate::webhooks::{self, Notice};

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

/// The session if `who` may reach it: its owner, within the token's profiles. Another
/// owner's session and a session of a profile outside the scope are both simply not
/// found (the same 404, never a hint that it exists).
pub async fn find_owned<C: ConnectionTrait>(
    db: &C,
    id: UploadId,
    who: &Principal,
) -> CoreResult<Model> {
    Entity::find_by_id(id.0)
        .filter(Column::Owner.eq(who.owner.as_str()))
        .one(db)
        .await?
        .filter(|session| who.may_reach(&session.owner, &session.profile))
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
/// on its state and version. `detail` adds facts (sizes, codes) to the audit event.
pub async fn transition<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    session: &Model,
    event: Event,
    actor: &Actor,
    ctx: &TransitionContext<'_>,
    detail: serde_json::Value,
) -> CoreResult<Model> {
    let plan = state::plan(session.state, event, &ctx.plan)?;
    let now = ctx.plan.now;
    let version = session.version + 1;
    let mut update = Entity::update_many()
        .col_expr(Column::State, Expr::value(plan.to.as_str()))
        .col_expr(Column::Version, Expr::value(version))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(deadline) = plan.deadline {
        update = update.col_expr(Column::ExpiresAt, Expr::value(deadline));
    }
    if let Some(failure) = plan.failure {
        update = update.col_expr(Column::Failure, Expr::value(failure.code()));
    }
    if plan.owes_cleanup {
        update = update.col_expr(Column::CleanupDueAt, Expr::value(now));
    }
    if let Some(size) = plan.size {
        update = update
            .col_expr(Column::Size, Expr::value(size))
            .col_expr(Column::SizeExact, Expr::value(true));
    }
    if plan.checksum_verified {
        update = update.col_expr(Column::ChecksumVerified, Expr::value(true));
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
    let scopes = quota::scope_names(&session.profile);
    let created = quota::day_of(session.created_at);
    quota::repo::apply(&txn, &session.owner, &scopes, created, plan.quota).await?;
    let mut detail = if detail.is_object() {
        detail
    } else {
        json!({})
    };
    detail["event"] = json!(event.as_str());
    detail["reason"] = json!(plan.reason);
    if let Some(failure) = plan.failure {
        detail["code"] = json!(failure.code());
    }
    append_audit(
        &txn,
        session.id,
        now,
        Some(session.state),
        plan.to,
        actor,
        detail.clone(),
    )
    .await?;
    // The jobs the old state owed are moot; the plan owes the new state's own.
    outbox::cancel_state_jobs(&txn, UploadId(session.id)).await?;
    outbox::append(&txn, now, &owed_jobs(UploadId(session.id), &plan, now)).await?;
    let moved = Model {
        state: plan.to,
        version,
        updated_at: now,
        expires_at: plan.deadline.unwrap_or(session.expires_at),
        failure: plan.failure.or(session.failure),
        size: plan.size.unwrap_or(session.size),
        size_exact: session.size_exact || plan.size.is_some(),
        checksum_verified: session.checksum_verified || plan.checksum_verified,
        cleanup_due_at: if plan.owes_cleanup {
            Some(now)
        } else {
            session.cleanup_due_at
        },
        ..session.clone()
    };
    if let Some(notice) = plan.notify {
        let endpoints = webhooks::subscribers(ctx.webhooks, notice, &session.profile);
        if !endpoints.is_empty() {
            let payload = notice_payload(notice, &moved, &detail, now);
            webhooks::repo::announce(
                &txn,
                &endpoints,
                notice,
                UploadId(session.id),
                &payload,
                now,
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(moved)
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
        "key": session.key,
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
/// good. A compare-and-set on `cleanup_due_at`, so two racing rounds record once.
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
        None => update.col_expr(Column::CleanedAt, Expr::value(now)),
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        return Ok(false);
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
