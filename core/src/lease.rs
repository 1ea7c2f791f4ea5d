//! Named leases in the database: a periodic task that must not overlap itself across
//! processes (a sweep) takes one before it runs and gives it back after. A holder that
//! dies simply lets its lease run out. Works the same on SQLite and PostgreSQL: one
//! `INSERT … ON CONFLICT DO UPDATE … WHERE` that only takes a free or own lease.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sluice_entity::lease::{Column, Entity};

use crate::error::CoreResult;

/// Takes (or renews) the lease `name` for `holder` until `now + ttl`, if it is free, has
/// run out, or is already `holder`'s. Returns whether `holder` holds it now.
pub async fn acquire<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> CoreResult<bool> {
    let until = crate::clock::add(now, ttl);
    let statement = Query::insert()
        .into_table(Entity)
        .columns([Column::Name, Column::Holder, Column::ExpiresAt])
        .values_panic([name.into(), holder.into(), until.into()])
        .on_conflict(
            OnConflict::column(Column::Name)
                .update_columns([Column::Holder, Column::ExpiresAt])
                .action_and_where(
                    Expr::col((Entity, Column::ExpiresAt))
                        .lte(now)
                        .or(Expr::col((Entity, Column::Holder)).eq(holder)),
                )
                .to_owned(),
        )
        .to_owned();
    let result = db.execute(&statement).await?;
    Ok(result.rows_affected() == 1)
}

/// Takes the lease `name` until `now + period` only if nobody holds it (its last holder
/// included): a turn of a periodic task that must run at most once per period across
/// every process. The lease is not given back; its running out is the next turn.
pub async fn take_turn<C: ConnectionTrait>(
    db: &C,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    period: Duration,
) -> CoreResult<bool> {
    let until = crate::clock::add(now, period);
    let statement = Query::insert()
        .into_table(Entity)
        .columns([Column::Name, Column::Holder, Column::ExpiresAt])
        .values_panic([name.into(), holder.into(), until.into()])
        .on_conflict(
            OnConflict::column(Column::Name)
                .update_columns([Column::Holder, Column::ExpiresAt])
                .action_and_where(Expr::col((Entity, Column::ExpiresAt)).lte(now))
                .to_owned(),
        )
        .to_owned();
    Ok(db.execute(&statement).await?.rows_affected() == 1)
}

/// Gives the lease back early, if `holder` still has it.
pub async fn release<C: ConnectionTrait>(db: &C, name: &str, holder: &str) -> CoreResult<()> {
    Entity::delete_many()
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
