//! What an operator does with webhook deliveries: list them with their attempts, replay
//! one (or every failed one of an endpoint since a time) with the same `webhook-id`, pause
//! and resume an endpoint, and read each endpoint's health.
//!
//! Invariants: a replay keeps the delivery's `message_id` (receivers stay idempotent),
//! starts its retry schedule afresh (its earlier attempts stay recorded) and is written
//! with its job in one transaction; only a delivered or given-up delivery is replayed
//! (a pending one goes out on its own). A paused endpoint's deliveries are never
//! attempted, so pausing costs no retries; resuming wakes their jobs, and per-session
//! order holds as always (`repo::earlier_pending`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sluice_entity::{webhook_attempt, webhook_delivery, webhook_endpoint};

use super::repo::{DELIVERED, FAILED, PENDING};
use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::ids::UploadId;
use crate::jobs::{DeliverWebhook, JobKind, NewJob};
use crate::outbox;
use crate::write::Write;

/// The largest page of deliveries.
pub const MAX_LIMIT: u64 = 200;
/// Deliveries one endpoint replay takes at most (ask again for the rest).
pub const MAX_REPLAY: u64 = 10_000;

/// Which deliveries to list; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub endpoint: Option<String>,
    pub event_type: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    pub upload_id: Option<uuid::Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// A delivery with every attempt, oldest attempt first.
#[derive(Clone, Debug)]
pub struct DeliveryView {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// One page of deliveries, newest first.
#[derive(Clone, Debug)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// A page of deliveries matching `filter`, newest first, after `cursor`.
pub async fn list(
    core: &Core,
    filter: &DeliveryFilter,
    limit: Option<u64>,
    cursor: Option<&str>,
) -> CoreResult<DeliveryPage> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(CoreError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    if let Some(status) = &filter.status
        && ![PENDING, DELIVERED, FAILED].contains(&status.as_str())
    {
        return Err(CoreError::invalid(
            "status",
            "status: pending, delivered or failed",
        ));
    }
    use webhook_delivery::Column as C;
    let mut query = webhook_delivery::Entity::find();
    if let Some(endpoint) = &filter.endpoint {
        query = query.filter(C::Endpoint.eq(endpoint.as_str()));
    }
    if let Some(event) = &filter.event_type {
        query = query.filter(C::EventType.eq(event.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(C::Status.eq(status.as_str()));
    }
    if let Some(upload) = filter.upload_id {
        query = query.filter(C::UploadId.eq(upload));
    }
    if let Some(after) = filter.created_after {
        query = query.filter(C::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(C::CreatedAt.lt(before));
    }
    if let Some(cursor) = cursor {
        query = query.filter(C::Id.lt(decode_cursor(cursor)?));
    }
    let mut rows = query
        .order_by_desc(C::Id)
        .limit(limit + 1)
        .all(&core.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(URL_SAFE_NO_PAD.encode(last.id.to_string())),
        _ => None,
    };
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    // One query for the page's attempts, grouped once by delivery (oldest first).
    let mut attempts: std::collections::HashMap<i64, Vec<webhook_attempt::Model>> =
        std::collections::HashMap::new();
    for attempt in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(&core.db)
        .await?
    {
        attempts
            .entry(attempt.delivery_id)
            .or_default()
            .push(attempt);
    }
    let items = rows
        .into_iter()
        .map(|delivery| DeliveryView {
            attempts: attempts.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect();
    Ok(DeliveryPage { items, next_cursor })
}

fn decode_cursor(cursor: &str) -> CoreResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| CoreError::invalid("cursor", "not a cursor this API handed out"))
}

/// The name of a configured endpoint, or not found.
fn configured<'a>(core: &'a Core, name: &str) -> CoreResult<&'a str> {
    core.settings
        .webhooks
        .endpoints
        .get_key_value(name)
        .map(|(k, _)| k.as_str())
        .ok_or(CoreError::NotFound("webhook endpoint"))
}

/// Sends delivery `id` again, with its `webhook-id`: its retry schedule starts afresh.
pub async fn replay(core: &Core, id: i64) -> CoreResult<DeliveryView> {
    let delivery = super::repo::find(&core.db, id)
        .await?
        .ok_or(CoreError::NotFound("webhook delivery"))?;
    if delivery.status == PENDING {
        return Err(CoreError::invalid(
            "id",
            "this delivery is still pending: it goes out on its own",
        ));
    }
    let replayed = replay_rows(core, &[delivery]).await?;
    if replayed == 0 {
        // Another replay (or the sweep) moved it first.
        return Err(CoreError::Conflict);
    }
    let delivery = super::repo::find(&core.db, id)
        .await?
        .ok_or(CoreError::NotFound("webhook delivery"))?;
    let attempts = super::repo::attempts_of(&core.db, id).await?;
    Ok(DeliveryView { delivery, attempts })
}

/// Sends every given-up delivery of `endpoint` created at or after `since` again (at most
/// `MAX_REPLAY`); answers how many.
pub async fn replay_failed(core: &Core, endpoint: &str, since: DateTime<Utc>) -> CoreResult<u64> {
    let endpoint = configured(core, endpoint)?;
    let failed = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Endpoint.eq(endpoint))
        .filter(webhook_delivery::Column::Status.eq(FAILED))
        .filter(webhook_delivery::Column::CreatedAt.gte(since))
        .order_by_asc(webhook_delivery::Column::Id)
        .limit(MAX_REPLAY)
        .all(&core.db)
        .await?;
    replay_rows(core, &failed).await
}

/// Makes `deliveries` pending again (each guarded by the status it was read in) with a
/// job due now each, in one transaction; answers how many moved.
async fn replay_rows(core: &Core, deliveries: &[webhook_delivery::Model]) -> CoreResult<u64> {
    let now = core.now();
    let mut moved = 0;
    for chunk in deliveries.chunks(500) {
        let write = Write::begin(core).await?;
        let mut jobs = Vec::new();
        for delivery in chunk {
            let updated = webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::Status, Expr::value(PENDING))
                .col_expr(
                    webhook_delivery::Column::FinishedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
                .filter(webhook_delivery::Column::Id.eq(delivery.id))
                .filter(webhook_delivery::Column::Status.eq(delivery.status.as_str()))
                .exec(write.db())
                .await?
                .rows_affected;
            if updated == 1 {
                moved += 1;
                jobs.push(NewJob::at(
                    DeliverWebhook {
                        delivery_id: delivery.id,
                        upload_id: delivery.upload_id.map(UploadId),
                    },
                    now,
                ));
            }
        }
        write.append(now, &jobs).await?;
        write.commit().await?;
    }
    Ok(moved)
}

/// Whether `endpoint`'s deliveries wait for a resume.
pub async fn is_paused<C: ConnectionTrait>(db: &C, endpoint: &str) -> CoreResult<bool> {
    Ok(webhook_endpoint::Entity::find_by_id(endpoint.to_owned())
        .one(db)
        .await?
        .is_some_and(|e| e.paused_at.is_some()))
}

/// Holds `endpoint`'s deliveries (new and waiting) until `resume`.
pub async fn pause(core: &Core, endpoint: &str) -> CoreResult<()> {
    let endpoint = configured(core, endpoint)?;
    set_paused(core, endpoint, Some(core.now())).await
}

/// Lets `endpoint`'s deliveries go out again: the job of each session's first pending
/// delivery is due now (and of every delivery about no session); each later one is woken
/// by the one before it when that settles, as always. Waking a later one too would run it
/// beside its predecessor, and its park could land after the predecessor's wake, leaving
/// it for the park's backstop.
pub async fn resume(core: &Core, endpoint: &str) -> CoreResult<()> {
    let endpoint = configured(core, endpoint)?;
    set_paused(core, endpoint, None).await?;
    let rows: Vec<(i64, Option<uuid::Uuid>)> = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .column(webhook_delivery::Column::UploadId)
        .filter(webhook_delivery::Column::Endpoint.eq(endpoint))
        .filter(webhook_delivery::Column::Status.eq(PENDING))
        .order_by_asc(webhook_delivery::Column::Id)
        .into_tuple()
        .all(&core.db)
        .await?;
    let mut seen = std::collections::HashSet::new();
    let pending: Vec<i64> = rows
        .into_iter()
        .filter(|(_, upload)| upload.is_none_or(|u| seen.insert(u)))
        .map(|(id, _)| id)
        .collect();
    let rows: Vec<i64> = outbox::rows_of_kind(&core.db, DeliverWebhook::KIND)
        .await?
        .into_iter()
        .filter(|(_, payload)| {
            payload
                .get("delivery_id")
                .and_then(serde_json::Value::as_i64)
                .is_some_and(|id| pending.contains(&id))
        })
        .map(|(id, _)| id)
        .collect();
    let write = Write::begin(core).await?;
    write.owe(outbox::wake(write.db(), &rows, core.now()).await?);
    write.commit().await
}

async fn set_paused(core: &Core, endpoint: &str, at: Option<DateTime<Utc>>) -> CoreResult<()> {
    let row = webhook_endpoint::ActiveModel {
        name: Set(endpoint.to_owned()),
        paused_at: Set(at),
    };
    webhook_endpoint::Entity::insert(row)
        .on_conflict(
            OnConflict::column(webhook_endpoint::Column::Name)
                .update_column(webhook_endpoint::Column::PausedAt)
                .to_owned(),
        )
        .exec_without_returning(&core.db)
        .await?;
    Ok(())
}

/// How one configured endpoint is doing.
#[derive(Clone, Debug)]
pub struct EndpointHealth {
    pub name: String,
    pub paused_at: Option<DateTime<Utc>>,
    /// Deliveries per status.
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Attempts in the last 24 hours, and how many of them were answered 2xx.
    pub attempts_24h: u64,
    pub succeeded_24h: u64,
    /// Mean latency of those attempts, in milliseconds.
    pub mean_latency_ms_24h: Option<u64>,
    /// When the oldest pending delivery was written.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// Every configured endpoint's health, by name.
pub async fn health(core: &Core) -> CoreResult<Vec<EndpointHealth>> {
    let since = core.now() - chrono::Duration::hours(24);
    let mut out = Vec::new();
    for name in core.settings.webhooks.endpoints.keys() {
        use webhook_delivery::Column as C;
        let count = |status: &'static str| {
            webhook_delivery::Entity::find()
                .filter(C::Endpoint.eq(name.as_str()))
                .filter(C::Status.eq(status))
                .count(&core.db)
        };
        let (pending, delivered, failed) = (
            count(PENDING).await?,
            count(DELIVERED).await?,
            count(FAILED).await?,
        );
        let oldest_pending = webhook_delivery::Entity::find()
            .filter(C::Endpoint.eq(name.as_str()))
            .filter(C::Status.eq(PENDING))
            .order_by_asc(C::Id)
            .one(&core.db)
            .await?
            .map(|d| d.created_at);
        let recent: Vec<(Option<i32>, i64)> = webhook_attempt::Entity::find()
            .select_only()
            .column(webhook_attempt::Column::Status)
            .column(webhook_attempt::Column::LatencyMs)
            .filter(
                webhook_attempt::Column::DeliveryId.in_subquery(
                    Query::select()
                        .column(C::Id)
                        .from(webhook_delivery::Entity)
                        .and_where(C::Endpoint.eq(name.as_str()))
                        .to_owned(),
                ),
            )
            .filter(webhook_attempt::Column::At.gte(since))
            .into_tuple()
            .all(&core.db)
            .await?;
        let attempts_24h = recent.len() as u64;
        let succeeded_24h = recent
            .iter()
            .filter(|(s, _)| s.is_some_and(|s| (200..300).contains(&s)))
            .count() as u64;
        let mean_latency_ms_24h = (attempts_24h > 0).then(|| {
            let total: i64 = recent.iter().map(|(_, l)| *l).sum();
            u64::try_from(total).unwrap_or(0) / attempts_24h
        });
        out.push(EndpointHealth {
            name: name.clone(),
            paused_at: webhook_endpoint::Entity::find_by_id(name.clone())
                .one(&core.db)
                .await?
                .and_then(|e| e.paused_at),
            pending,
            delivered,
            failed,
            attempts_24h,
            succeeded_24h,
            mean_latency_ms_24h,
            oldest_pending,
        });
    }
    Ok(out)
}
