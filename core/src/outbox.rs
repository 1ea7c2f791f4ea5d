//! The transactional outbox: use cases write jobs here inside the transaction of the state
//! change; the relay (in `sluice-jobs`) reads them in id order, enqueues them and deletes
//! them. A crash or a queue outage therefore delays jobs but never loses them.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use sluice_entity::outbox_job;
use tokio::sync::Notify;

use crate::error::CoreResult;
use crate::jobs::{Job, NewJob};

/// Wakes the relay after a commit so jobs due now are queued at once, not on its timer.
#[derive(Clone, Debug, Default)]
pub struct RelaySignal(Arc<Notify>);

impl RelaySignal {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Appends jobs to the outbox (call inside the transaction of the state change).
pub async fn append<C: ConnectionTrait>(db: &C, jobs: &[NewJob]) -> CoreResult<()> {
    let now = crate::clock::now();
    for job in jobs {
        outbox_job::ActiveModel {
            job: Set(job.job.queue().to_owned()),
            payload: Set(job.job.payload()),
            run_at: Set(job.run_at),
            created_at: Set(now),
            attempts: Set(0),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// A job read from the outbox, with the row id to delete once it is queued.
#[derive(Debug)]
pub struct PendingJob {
    pub id: i64,
    pub job: Result<Job, String>,
    pub run_at: chrono::DateTime<Utc>,
}

/// The oldest `limit` outbox rows.
pub async fn oldest<C: ConnectionTrait>(db: &C, limit: u64) -> CoreResult<Vec<PendingJob>> {
    let rows = outbox_job::Entity::find()
        .order_by_asc(outbox_job::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| PendingJob {
            id: row.id,
            job: Job::decode(&row.job, row.payload),
            run_at: row.run_at,
        })
        .collect())
}

/// Removes rows that were queued (or could never be decoded).
pub async fn remove<C: ConnectionTrait>(db: &C, ids: &[i64]) -> CoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    outbox_job::Entity::delete_many()
        .filter(outbox_job::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts rows still waiting (for `/readyz` and tests).
pub async fn backlog<C: ConnectionTrait>(db: &C) -> CoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(outbox_job::Entity::find().count(db).await?)
}
