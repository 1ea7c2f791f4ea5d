//! The only code that writes the `upload_sessions` row.
//!
//! Invariants: a state change happens only through `transition`, which asks
//! `state::plan` for the target and its effects, updates `WHERE id AND state AND version`
//! (so exactly one of two racing writers wins; the loser gets `Conflict`), and in the same
//! transaction applies the whole plan: deadline, failure, owed cleanup, audit event and
//! the jobs it owes. Cleanup bookkeeping (`record_cleanups`) never touches the state.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use sluice_domain::UploadState;
use sluice_entity::audit_event;
use sluice_entity::upload_session::{self, Column, Entity, Model};

pub mod batch;
mod insert_many;

pub use batch::{BatchItem, transition_batch};
pub use insert_many::insert_many;

use super::state::{self, Event, OwedJob, PlanContext, has_deadline};
use crate::Core;
use crate::auth::Principal;
use crate::config::WebhookSettings;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::jobs::{CleanupSession, ExpireSession, NewJob, ScanUpload, VerifyUpload};
use crate::quota;
use crate::webhooks::Notice;
use crate::write::Write;

// Who caused a change: the caller's identity, which `auth` establishes.
pub use crate::auth::Actor;

/// Inserts a new `pending` session with its quota reservation in `scopes` (refused with
/// `QuotaExceeded` before anything is written; scopes without a limit are not written),
/// its creation event and the expiry of its upload deadline (`session.expires_at`): three
/// INSERTs when no limit applies.
pub async fn insert(
    write: &Write,
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
    // One transaction, the caller's: row, audit event and jobs together.
    let txn = write.db();
    let size = u64::try_from(session.size).unwrap_or(0);
    quota::repo::reserve(txn, &session.owner, scopes, session.created_at, size).await?;
    Entity::insert(am).exec_without_returning(txn).await?;
    append_audit(
        txn,
        session.id,
        session.created_at,
        None,
        UploadState::Pending,
        actor,
        json!({"event": "create", "size": session.size}),
    )
    .await?;
    write.append(session.created_at, &[expire]).await?;
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
    // One ordered range of the (state, expires_at) index per live state, merged here: a
    // single query over the live states sorts every overdue row to return the first
    // thousand (68 ms over a backlog of 100,000 on PostgreSQL, against 1 ms this way).
    let mut overdue = Vec::new();
    for state in UploadState::ALL.into_iter().filter(|s| has_deadline(*s)) {
        overdue.extend(
            Entity::find()
                .filter(Column::State.eq(state.as_str()))
                .filter(Column::ExpiresAt.lt(now))
                .order_by_asc(Column::ExpiresAt)
                .limit(limit)
                .all(db)
                .await?,
        );
    }
    overdue.sort_by_key(|s| s.expires_at);
    overdue.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(overdue)
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
///
/// Runs inside `write`, which the caller commits (committing wakes the relay for the jobs
/// the plan owes now); [`transition_committed`] is the same in a `Write` of its own.
pub async fn transition(
    write: &Write,
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
        batch::transition_batch(write, vec![item], event, actor, ctx.webhooks, ctx.plan.now)
            .await?;
    moved.into_iter().next().ok_or(CoreError::Conflict)
}

/// [`transition`] in a `Write` of its own, committed: the whole change, or nothing.
pub async fn transition_committed(
    core: &Core,
    session: &Model,
    event: Event,
    actor: &Actor,
    ctx: &TransitionContext<'_>,
    detail: serde_json::Value,
) -> CoreResult<Model> {
    let write = Write::begin(core).await?;
    let moved = transition(&write, session, event, actor, ctx, detail).await?;
    write.commit().await?;
    if session.state == UploadState::Pending {
        // The part-signing routes must not sign for it from their cache any more.
        core.pending.forget(session.id);
    }
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
        "key": session.sealed_key.as_deref().unwrap_or(&session.key),
        "method": session.method,
        "metadata": session.metadata,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    });
    if let Some(failure) = session.failure {
        upload["failure"] = json!(failure.code());
    }
    if let Some(scan) = session.scan {
        upload["scan"] = json!(scan.as_str());
    }
    let mut data = json!({ "upload": upload });
    // The receiver is the application, not the uploader: it may learn what the scanner
    // found (the client-facing answer says only `malware_detected`).
    if let Some(signature) = detail.get("signature") {
        data["signature"] = signature.clone();
    }
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
fn owed_jobs(upload_id: UploadId, owed: &[OwedJob], now: DateTime<Utc>) -> Vec<NewJob> {
    owed.iter()
        .map(|owed| match *owed {
            OwedJob::ExpireAt(at) => NewJob::at(ExpireSession { upload_id }, at),
            OwedJob::VerifyAt(at) => NewJob::at(VerifyUpload { upload_id }, at),
            OwedJob::CleanupNow => NewJob::at(CleanupSession { upload_id }, now),
            OwedJob::ScanNow => NewJob::at(ScanUpload { upload_id }, now),
        })
        .collect()
}

/// A finished cleanup round of one session, to record.
#[derive(Clone, Debug)]
pub struct CleanupRound {
    pub session: Model,
    /// The session's `cleanup_due_at` when the round read it.
    pub due: DateTime<Utc>,
    /// When another round is owed (after its last URL expired), or `None`: the key is
    /// clean for good.
    pub again_at: Option<DateTime<Utc>>,
}

/// Records finished cleanup rounds in one transaction: for each, either another round is
/// owed at `again_at` (written with its job), or the key is clean for good and the bytes
/// it held against quota (`held_bytes`) are released. Each row is a compare-and-set on
/// (`cleanup_due_at`, `held_bytes`) as the round read them, so two racing rounds record
/// once and a round that a later transition overtook records nothing (its own round
/// follows). One UPDATE for the final rounds, one for the others. Returns the rounds
/// that were recorded.
pub async fn record_cleanups(
    write: &Write,
    rounds: Vec<CleanupRound>,
    now: DateTime<Utc>,
) -> CoreResult<Vec<CleanupRound>> {
    if rounds.is_empty() {
        return Ok(rounds);
    }
    // `id IN (…)` first, so PostgreSQL reads the rows by primary key (see batch.rs).
    let guard = |rounds: &[&CleanupRound]| {
        let ids = rounds.iter().map(|r| r.session.id);
        Column::Id.is_in(ids).and(
            Expr::tuple([
                Expr::col(Column::Id),
                Expr::col(Column::CleanupDueAt),
                Expr::col(Column::HeldBytes),
            ])
            .in_tuples(
                rounds
                    .iter()
                    .map(|r| (r.session.id, r.due, r.session.held_bytes))
                    .collect::<Vec<_>>(),
            ),
        )
    };
    let (last, again): (Vec<&CleanupRound>, Vec<&CleanupRound>) =
        rounds.iter().partition(|r| r.again_at.is_none());
    let txn = write.db();
    let mut recorded: Vec<uuid::Uuid> = Vec::new();
    if !last.is_empty() {
        let rows = Entity::update_many()
            .col_expr(
                Column::CleanupDueAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::CleanedAt, Expr::value(now))
            .col_expr(Column::HeldBytes, Expr::value(0i64))
            .filter(guard(&last))
            .exec_with_returning(txn)
            .await?;
        recorded.extend(rows.iter().map(|m| m.id));
    }
    if !again.is_empty() {
        let mut case = sea_orm::sea_query::CaseStatement::new();
        for r in &again {
            case = case.case(
                Expr::col(Column::Id).eq(r.session.id),
                Expr::value(r.again_at),
            );
        }
        let rows = Entity::update_many()
            .col_expr(Column::CleanupDueAt, case.into())
            .filter(guard(&again))
            .exec_with_returning(txn)
            .await?;
        recorded.extend(rows.iter().map(|m| m.id));
    }
    let done: Vec<CleanupRound> = rounds
        .into_iter()
        .filter(|r| recorded.contains(&r.session.id))
        .collect();
    // Held bytes of the keys now clean for good are released.
    let mut releases = Vec::new();
    let mut jobs = Vec::new();
    for r in &done {
        match r.again_at {
            None if r.session.held_bytes != 0 => {
                let owed = quota::changes::Owed {
                    owner: r.session.owner.clone(),
                    profile: r.session.profile.clone(),
                    created_day: quota::day_of(r.session.created_at),
                };
                let release = state::QuotaChange {
                    reserved_bytes: -r.session.held_bytes,
                    ..Default::default()
                };
                releases.push((owed, release));
            }
            None => {}
            Some(at) => {
                let upload_id = UploadId(r.session.id);
                jobs.push(NewJob::at(CleanupSession { upload_id }, at));
            }
        }
    }
    quota::changes::apply_all(txn, releases).await?;
    write.append(now, &jobs).await?;
    Ok(done)
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

/// Sessions in `state` since before `cutoff`.
pub async fn in_state_since<C: ConnectionTrait>(
    db: &C,
    state: UploadState,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::State.eq(state.as_str()))
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
    let event = audit_event::ActiveModel {
        upload_id: Set(upload_id),
        at: Set(at),
        from_state: Set(from.map(|s| s.as_str().to_owned())),
        to_state: Set(to.as_str().to_owned()),
        actor: Set(actor.label()),
        detail: Set(detail),
        ..Default::default()
    };
    // Nothing reads the row back: no RETURNING (or a SELECT after it, on SQLite).
    audit_event::Entity::insert(event)
        .exec_without_returning(db)
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
