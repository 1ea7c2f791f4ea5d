//! The durable job table (the transactional outbox): jobs written in the same transaction
//! as the state change that triggers them. A relay dispatches due rows into the job queue;
//! a row is deleted only once its job has run, and rescheduled when it must be retried.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Kind of the job, which is also its queue name (see `sluice_core::jobs`).
    pub job: String,
    pub payload: Json,
    /// Not before this time.
    pub run_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Failed runs so far (the retry schedule's position), or failed decodes.
    pub attempts: i32,
    /// The upload session the job is about, if any (for the sweep's lost-job checks).
    pub upload_id: Option<Uuid>,
    /// When a relay last handed it to the queue; `None` while waiting for `run_at`.
    pub dispatched_at: Option<DateTimeUtc>,
    /// Identifies the current dispatch: a queued message carrying another token is stale.
    pub dispatch_token: Option<String>,
    /// Why the last run failed, for operators.
    pub last_error: Option<String>,
    /// The W3C `traceparent` of the span that appended the job, when telemetry is on: its
    /// run continues that trace.
    pub trace_parent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
