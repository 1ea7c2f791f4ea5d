//! The `upload_batches` table: the only code that writes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use sluice_entity::upload_batch::{self, Column, Entity, Model};
use sluice_entity::upload_session;

use crate::config::WebhookSettings;
use crate::error::CoreResult;
use crate::webhooks::{self, Notice};
use crate::write::Write;

/// Writes a new batch of `total` sessions, none settled yet.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    id: uuid::Uuid,
    owner: &str,
    total: usize,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let total = i32::try_from(total).unwrap_or(i32::MAX);
    let row = upload_batch::ActiveModel {
        id: Set(id),
        owner: Set(owner.to_owned()),
        total: Set(total),
        unsettled: Set(total),
        created_at: Set(now),
        completed_at: Set(None),
    };
    Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Takes `settled[batch]` sessions off each batch's unsettled count, inside the
/// transition's `write`, and announces `batch.completed` for each batch that this brought
/// to zero. The UPDATE holds the batch row until commit, so of two transitions settling a
/// batch's last sessions at once, the second sees the first's count: exactly one reaches
/// zero.
pub async fn settle(
    write: &Write,
    settled: &BTreeMap<uuid::Uuid, i32>,
    webhooks_settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let db = write.db();
    for (batch, n) in settled {
        let left = Expr::col(Column::Unsettled).sub(*n);
        let rows = Entity::update_many()
            .col_expr(Column::Unsettled, left.clone())
            .col_expr(
                Column::CompletedAt,
                Expr::case(left.lte(0), Expr::value(now))
                    .finally(Expr::col(Column::CompletedAt))
                    .into(),
            )
            .filter(Column::Id.eq(*batch))
            .filter(Column::CompletedAt.is_null())
            .exec_with_returning(db)
            .await?;
        for row in rows.into_iter().filter(|r| r.unsettled <= 0) {
            announce_completed(write, &row, webhooks_settings, now).await?;
        }
    }
    Ok(())
}

/// One `batch.completed` delivery per endpoint that wants it: an endpoint limited to some
/// profiles hears of a batch with a session of one of them.
async fn announce_completed(
    write: &Write,
    batch: &Model,
    webhooks_settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> CoreResult<()> {
    let db = write.db();
    let profiles: Vec<String> = upload_session::Entity::find()
        .select_only()
        .column(upload_session::Column::Profile)
        .distinct()
        .filter(upload_session::Column::BatchId.eq(batch.id))
        .into_tuple()
        .all(db)
        .await?;
    let endpoints =
        webhooks::subscribers_of_any(webhooks_settings, Notice::BatchCompleted, &profiles);
    if endpoints.is_empty() {
        return Ok(());
    }
    let states = super::view::counts(db, batch.id).await?;
    let payload = serde_json::json!({
        "type": Notice::BatchCompleted.event_type(),
        "timestamp": now,
        "data": {"batch": super::view::BatchSummary::of(batch, states).to_json()},
    });
    webhooks::repo::announce(
        write,
        &endpoints,
        Notice::BatchCompleted,
        None,
        &payload,
        now,
    )
    .await
}
