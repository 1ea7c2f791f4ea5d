//! Set-based transitions: many sessions moved along one event in one transaction, for the
//! sweep and the expiry job when a backlog is due (after an outage, thousands at once).
//!
//! Invariants, the same as a single transition's: every row's target and effects come
//! from `state::plan`; each row is guarded by its own compare-and-set on (id, state,
//! version), so a row another writer moved meanwhile is simply not in the result; the
//! state change, the audit events, the quota changes, the owed jobs and the webhook
//! notices of the rows that moved commit together. The state change is one `UPDATE …
//! RETURNING` per group of rows whose plans set the same columns (per-row values such as
//! a settled size go through `CASE`), so a batch of expiries is one or a few statements,
//! never one per row. Quota changes are summed per counter row and applied set-based,
//! owners' totals before their profiles, the order every writer takes the rows in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use sluice_domain::{Failure, ScanResult, UploadState};
use sluice_entity::audit_event;
use sluice_entity::upload_session::{Column, Entity, Model};

use super::super::state::{self, Event, OwedJob, Plan, PlanContext};
use super::{Actor, notice_payload, owed_jobs};
use crate::config::WebhookSettings;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::outbox;
use crate::quota;
use crate::webhooks;
use crate::write::Write;

/// One session of a batch: the row as read, the facts its plan depends on, and what its
/// audit event adds (sizes, codes, the deadline that passed).
#[derive(Clone, Debug)]
pub struct BatchItem {
    pub session: Model,
    pub plan: PlanContext,
    pub detail: serde_json::Value,
}

/// The columns a plan sets besides state, version and time: rows whose plans agree on
/// these share one UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    from: &'static str,
    to: &'static str,
    deadline: Option<DateTime<Utc>>,
    failure: Option<&'static str>,
    owes_cleanup: bool,
    checksum_verified: bool,
    scan: Option<&'static str>,
    seals: bool,
    holds: bool,
    sizes: bool,
}

impl Shape {
    fn of(from: UploadState, plan: &Plan) -> Shape {
        Shape {
            from: from.as_str(),
            to: plan.to.as_str(),
            deadline: plan.deadline,
            failure: plan.failure.map(Failure::code),
            owes_cleanup: plan.owes_cleanup,
            checksum_verified: plan.checksum_verified,
            scan: plan.scan.map(ScanResult::as_str),
            seals: plan.seals,
            holds: plan.hold.is_some(),
            sizes: plan.size.is_some(),
        }
    }
}

/// Moves every session of `items` along `event` inside `write` (see the module): the
/// caller commits it, which wakes the relay for the jobs owed now. Returns the rows that
/// moved, as stored; a row whose edge is illegal or that another writer moved first is
/// left out.
pub async fn transition_batch(
    write: &Write,
    items: Vec<BatchItem>,
    event: Event,
    actor: &Actor,
    webhooks_settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> CoreResult<Vec<Model>> {
    let mut groups: BTreeMap<Shape, Vec<(BatchItem, Plan)>> = BTreeMap::new();
    for item in items {
        if let Ok(plan) = state::plan(item.session.state, event, &item.plan) {
            let shape = Shape::of(item.session.state, &plan);
            groups.entry(shape).or_default().push((item, plan));
        }
    }
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let txn = write.db();
    let mut moved: Vec<(Model, BatchItem, Plan)> = Vec::new();
    for (shape, rows) in groups {
        let stored = update_group(txn, shape, &rows, now).await?;
        for (item, plan) in rows {
            if let Some(row) = stored.iter().find(|m| m.id == item.session.id) {
                moved.push((row.clone(), item, plan));
            }
        }
    }
    apply_quota(txn, &moved).await?;
    let mut audits = Vec::with_capacity(moved.len());
    let mut jobs = Vec::new();
    let mut cleanups = 0usize;
    let ids: Vec<UploadId> = moved.iter().map(|(m, ..)| UploadId(m.id)).collect();
    for (row, item, plan) in &moved {
        let detail = audit_detail(event, plan, item.detail.clone());
        audits.push(audit_event::ActiveModel {
            upload_id: Set(row.id),
            at: Set(now),
            from_state: Set(Some(item.session.state.as_str().to_owned())),
            to_state: Set(plan.to.as_str().to_owned()),
            actor: Set(actor.label()),
            detail: Set(detail.clone()),
            ..Default::default()
        });
        let mut owed = plan.jobs.clone();
        if owed.contains(&OwedJob::CleanupNow) {
            // One cleanup job per batch's worth of owed rounds: the job of the first
            // round of each share cleans every due round with it (`cleanup::clean`), so
            // a backlog of 100,000 expiries is 100 jobs, not 100,000 that find nothing.
            if !cleanups.is_multiple_of(crate::cleanup::BATCH as usize) {
                owed.retain(|job| *job != OwedJob::CleanupNow);
            }
            cleanups += 1;
        }
        jobs.extend(owed_jobs(UploadId(row.id), &owed, now));
        if let Some(notice) = plan.notify {
            let endpoints = webhooks::subscribers(webhooks_settings, notice, &row.profile);
            if !endpoints.is_empty() {
                let payload = notice_payload(notice, row, &detail, now);
                webhooks::repo::announce(
                    write,
                    &endpoints,
                    notice,
                    Some(UploadId(row.id)),
                    &payload,
                    now,
                )
                .await?;
            }
        }
    }
    if !audits.is_empty() {
        audit_event::Entity::insert_many(audits)
            .exec_without_returning(txn)
            .await?;
    }
    // The jobs the old states owed are moot; the plans owe the new states' own.
    outbox::cancel_state_jobs_of(txn, &ids).await?;
    write.append(now, &jobs).await?;
    // Sessions of batches that settle here take themselves off their batch's count.
    let mut settled: BTreeMap<uuid::Uuid, i32> = BTreeMap::new();
    for (row, item, plan) in &moved {
        if let Some(batch) = row.batch_id
            && !item.session.state.settles_batch()
            && plan.to.settles_batch()
        {
            *settled.entry(batch).or_default() += 1;
        }
    }
    if !settled.is_empty() {
        crate::batch::settle(write, &settled, webhooks_settings, now).await?;
    }
    Ok(moved.into_iter().map(|(row, ..)| row).collect())
}

/// The audit detail of one row: the caller's facts plus the event, the reason and the
/// failure's code.
pub(super) fn audit_detail(
    event: Event,
    plan: &Plan,
    detail: serde_json::Value,
) -> serde_json::Value {
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
    detail
}

/// One UPDATE … RETURNING for the rows of one shape, each guarded by (id, version) and
/// the shape's from-state.
async fn update_group<C: ConnectionTrait>(
    db: &C,
    shape: Shape,
    rows: &[(BatchItem, Plan)],
    now: DateTime<Utc>,
) -> CoreResult<Vec<Model>> {
    let mut update = Entity::update_many()
        .col_expr(Column::State, Expr::value(shape.to))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now));
    if let Some(deadline) = shape.deadline {
        update = update.col_expr(Column::ExpiresAt, Expr::value(deadline));
    }
    if let Some(failure) = shape.failure {
        update = update.col_expr(Column::Failure, Expr::value(failure));
    }
    if shape.owes_cleanup {
        // A new round is owed now, whatever an earlier one recorded.
        update = update
            .col_expr(Column::CleanupDueAt, Expr::value(now))
            .col_expr(
                Column::CleanedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
    }
    if shape.checksum_verified {
        update = update.col_expr(Column::ChecksumVerified, Expr::value(true));
    }
    if let Some(scan) = shape.scan {
        update = update.col_expr(Column::Scan, Expr::value(scan));
    }
    if shape.sizes {
        let sizes = per_row(rows, |(_, plan)| plan.size.map(SimpleExpr::from));
        update = update
            .col_expr(Column::Size, sizes)
            .col_expr(Column::SizeExact, Expr::value(true));
    }
    if shape.seals {
        let keys = per_row(rows, |(item, _)| {
            Some(crate::naming::sealed_key(&item.session.key).into())
        });
        update = update.col_expr(Column::SealedKey, keys);
    }
    if shape.holds {
        let held = per_row(rows, |(_, plan)| plan.hold.map(SimpleExpr::from));
        update = update.col_expr(Column::HeldBytes, held);
    }
    let guards = rows
        .iter()
        .map(|(item, _)| (item.session.id, item.session.version));
    // `id IN (…)` first: PostgreSQL reads the rows by primary key and checks the tuple
    // guard on those only (a tuple IN list alone can turn into a scan of the table).
    let ids = rows.iter().map(|(item, _)| item.session.id);
    Ok(update
        .filter(Column::Id.is_in(ids))
        .filter(Column::State.eq(shape.from))
        .filter(Expr::tuple([Expr::col(Column::Id), Expr::col(Column::Version)]).in_tuples(guards))
        .exec_with_returning(db)
        .await?)
}

/// `CASE id WHEN … THEN … END`: a value per row, for the columns whose values differ from
/// row to row within one shape.
fn per_row(
    rows: &[(BatchItem, Plan)],
    value: impl Fn(&(BatchItem, Plan)) -> Option<SimpleExpr>,
) -> SimpleExpr {
    let mut case = CaseStatement::new();
    for row in rows {
        if let Some(v) = value(row) {
            case = case.case(Expr::col(Column::Id).eq(row.0.session.id), v);
        }
    }
    case.into()
}

/// The quota changes of the moved rows, applied in a few set-based statements
/// (`quota::changes`).
async fn apply_quota<C: ConnectionTrait>(
    db: &C,
    moved: &[(Model, BatchItem, Plan)],
) -> CoreResult<()> {
    let changes = moved.iter().map(|(row, _, plan)| {
        let owed = quota::changes::Owed {
            owner: row.owner.clone(),
            profile: row.profile.clone(),
            created_day: quota::day_of(row.created_at),
        };
        (owed, plan.quota)
    });
    quota::changes::apply_all(db, changes).await
}
