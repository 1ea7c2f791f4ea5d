//! The `webhook_deliveries` and `webhook_attempts` tables: the only code that writes them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use sluice_entity::{webhook_attempt, webhook_delivery};

use super::Notice;
use crate::error::CoreResult;
use crate::ids::UploadId;
use crate::jobs::{DeliverWebhook, JobKind, NewJob};
use crate::outbox;
use crate::write::Write;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// Writes one delivery per endpoint and their jobs, inside the transition's `write`.
pub async fn announce(
    write: &Write,
    endpoints: &[&str],
    notice: Notice,
    upload_id: Option<UploadId>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    for endpoint in endpoints {
        let delivery = webhook_delivery::ActiveModel {
            message_id: Set(format!("msg_{}", uuid::Uuid::now_v7().simple())),
            endpoint: Set((*endpoint).to_owned()),
            event_type: Set(notice.event_type().to_owned()),
            upload_id: Set(upload_id.map(|id| id.0)),
            payload: Set(payload.clone()),
            status: Set(PENDING.to_owned()),
            attempts: Set(0),
            created_at: Set(now),
            finished_at: Set(None),
            ..Default::default()
        }
        .insert(write.db())
        .await?;
        let job = DeliverWebhook {
            delivery_id: delivery.id,
            upload_id,
        };
        write.append(now, &[NewJob::at(job, now)]).await?;
    }
    Ok(())
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> CoreResult<Option<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find_by_id(id).one(db).await?)
}

/// Whether an earlier delivery of the same session to the same endpoint is still pending
/// (this one must wait for it: per-session order).
pub async fn earlier_pending<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
) -> CoreResult<bool> {
    let Some(upload_id) = delivery.upload_id else {
        return Ok(false);
    };
    let earlier = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Endpoint.eq(delivery.endpoint.as_str()))
        .filter(webhook_delivery::Column::UploadId.eq(upload_id))
        .filter(webhook_delivery::Column::Id.lt(delivery.id))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .count(db)
        .await?;
    Ok(earlier > 0)
}

/// Wakes the job of the next pending delivery of `settled`'s session to its endpoint:
/// it was parked behind `settled` (call in the `write` that settles it).
pub async fn wake_next(
    write: &Write,
    settled: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let db = write.db();
    let Some(upload_id) = settled.upload_id else {
        return Ok(());
    };
    let next = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Endpoint.eq(settled.endpoint.as_str()))
        .filter(webhook_delivery::Column::UploadId.eq(upload_id))
        .filter(webhook_delivery::Column::Id.gt(settled.id))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .order_by_asc(webhook_delivery::Column::Id)
        .one(db)
        .await?;
    let Some(next) = next else {
        return Ok(());
    };
    let rows: Vec<i64> = outbox::rows_of(db, DeliverWebhook::KIND, UploadId(upload_id))
        .await?
        .into_iter()
        .filter(|(_, payload)| {
            payload
                .get("delivery_id")
                .and_then(serde_json::Value::as_i64)
                == Some(next.id)
        })
        .map(|(id, _)| id)
        .collect();
    write.owe(outbox::wake(db, &rows, now).await?);
    Ok(())
}

/// One attempt and its outcome.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub next_try: Option<DateTime<Utc>>,
    /// The start of the endpoint's answer, secrets removed.
    pub response_excerpt: Option<String>,
}

/// Records an attempt; a final one (delivered, or given up) also settles the delivery.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
    attempt: &Attempt,
    settled: Option<&str>,
) -> CoreResult<()> {
    webhook_attempt::ActiveModel {
        delivery_id: Set(delivery.id),
        at: Set(attempt.at),
        status: Set(attempt.status.map(i32::from)),
        latency_ms: Set(attempt.latency_ms),
        error: Set(attempt.error.clone()),
        next_try: Set(attempt.next_try),
        response_excerpt: Set(attempt.response_excerpt.clone()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::value(delivery.attempts.saturating_add(1)),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery.id));
    if let Some(status) = settled {
        update = update
            .col_expr(webhook_delivery::Column::Status, Expr::value(status))
            .col_expr(
                webhook_delivery::Column::FinishedAt,
                Expr::value(attempt.at),
            );
    }
    update.exec(db).await?;
    Ok(())
}

/// Settles a delivery that cannot be attempted at all (its endpoint was removed).
pub async fn abandon<C: ConnectionTrait>(db: &C, id: i64, now: DateTime<Utc>) -> CoreResult<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(FAILED))
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every delivery about a session, oldest first (tests, admin).
// Read only by the test suites (`test_support`) so far.
#[cfg_attr(not(feature = "test-support"), allow(dead_code))]
pub async fn of_upload<C: ConnectionTrait>(
    db: &C,
    upload_id: UploadId,
) -> CoreResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::UploadId.eq(upload_id.0))
        .order_by_asc(webhook_delivery::Column::Id)
        .all(db)
        .await?)
}

/// The attempts of a delivery, oldest first.
// Read only by the test suites (`test_support`) so far.
#[cfg_attr(not(feature = "test-support"), allow(dead_code))]
pub async fn attempts_of<C: ConnectionTrait>(
    db: &C,
    delivery_id: i64,
) -> CoreResult<Vec<webhook_attempt::Model>> {
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?)
}

/// Pending deliveries created before `cutoff` (the sweep's lost-job check).
pub async fn pending_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> CoreResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .filter(webhook_delivery::Column::CreatedAt.lte(cutoff))
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
