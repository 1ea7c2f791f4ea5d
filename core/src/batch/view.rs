//! What `GET /v1/batches/{id}` answers: the batch and how many of its sessions are in
//! each state, counted on read from the session table (index on `batch_id, state`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use sluice_domain::UploadState;
use sluice_entity::upload_batch::{self, Model};
use sluice_entity::upload_session;

use crate::Core;
use crate::auth::Principal;
use crate::error::{CoreError, CoreResult};

/// A batch as its owner sees it.
#[derive(Clone, Debug)]
pub struct BatchSummary {
    pub id: uuid::Uuid,
    pub owner: String,
    /// Sessions the batch created.
    pub total: u32,
    /// Sessions per state name (states with none are left out).
    pub states: BTreeMap<&'static str, u32>,
    /// Whether every session is `uploaded` or ended (`batch.completed` was announced).
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl BatchSummary {
    pub fn of(batch: &Model, states: BTreeMap<&'static str, u32>) -> BatchSummary {
        BatchSummary {
            id: batch.id,
            owner: batch.owner.clone(),
            total: u32::try_from(batch.total).unwrap_or(0),
            states,
            completed: batch.completed_at.is_some(),
            created_at: batch.created_at,
            completed_at: batch.completed_at,
        }
    }

    /// The webhook's `data.batch` (the same names as the HTTP answer).
    pub fn to_json(&self) -> serde_json::Value {
        let states = &self.states;
        serde_json::json!({
            "id": self.id,
            "owner": self.owner,
            "total": self.total,
            "states": states,
            "completed": self.completed,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
        })
    }
}

/// Sessions of `batch` per state.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    batch: uuid::Uuid,
) -> CoreResult<BTreeMap<&'static str, u32>> {
    let rows: Vec<(UploadState, i64)> = upload_session::Entity::find()
        .select_only()
        .column(upload_session::Column::State)
        .column_as(upload_session::Column::Id.count(), "n")
        .filter(upload_session::Column::BatchId.eq(batch))
        .group_by(upload_session::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(state, n)| (state.as_str(), u32::try_from(n).unwrap_or(0)))
        .collect())
}

/// The batch `id` of `who` (another owner's batch is not found, as sessions are).
pub async fn summary(core: &Core, who: &Principal, id: uuid::Uuid) -> CoreResult<BatchSummary> {
    let db = &core.db;
    let batch = upload_batch::Entity::find_by_id(id)
        .filter(upload_batch::Column::Owner.eq(who.owner.as_str()))
        .one(db)
        .await?
        .ok_or(CoreError::NotFound("batch"))?;
    let states = counts(db, id).await?;
    Ok(BatchSummary::of(&batch, states))
}
