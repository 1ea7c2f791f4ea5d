//! Statistics for the dashboard: sessions and bytes per state and per profile, and uploads
//! and bytes per day. Grouping millions of sessions takes the better part of a second on
//! PostgreSQL, so the workers keep a rollup (`refresh`, every `admin.stats_interval`) and
//! the API reads it; `fresh` computes live (and refreshes the rollup) for an operator who
//! cannot wait, and a database without a rollup yet is computed live too.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use sluice_entity::stats_rollup;
use sluice_entity::upload_session::{Column, Entity};

use crate::Core;
use crate::error::{CoreError, CoreResult};

/// The longest series.
pub const MAX_DAYS: u32 = 366;

const STATE: &str = "state";
const PROFILE: &str = "profile";
const DAY: &str = "day";

/// A group's count and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub key: String,
    pub count: i64,
    pub bytes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub by_state: Vec<Group>,
    pub by_profile: Vec<Group>,
    /// One group per UTC day (`YYYY-MM-DD`), oldest first, days without uploads included.
    pub per_day: Vec<Group>,
    /// When these numbers were computed.
    pub computed_at: DateTime<Utc>,
}

/// The statistics for the last `days` days, from the rollup unless `fresh`.
pub async fn stats(core: &Core, days: u32, fresh: bool) -> CoreResult<Stats> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(CoreError::invalid(
            "days",
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let rollup = if fresh {
        refresh(core).await?
    } else {
        match read_rollup(core).await? {
            Some(rollup) => rollup,
            None => refresh(core).await?,
        }
    };
    let first = day_start(core.now()) - Duration::days(i64::from(days) - 1);
    let per_day = (0..i64::from(days))
        .map(|n| {
            let key = (first + Duration::days(n)).format("%Y-%m-%d").to_string();
            rollup
                .per_day
                .iter()
                .find(|g| g.key == key)
                .cloned()
                .unwrap_or(Group {
                    key,
                    count: 0,
                    bytes: 0,
                })
        })
        .collect();
    Ok(Stats { per_day, ..rollup })
}

/// Computes every group live and replaces the rollup with them.
pub async fn refresh(core: &Core) -> CoreResult<Stats> {
    let now = core.now();
    let by_state = grouped(core, Expr::col(Column::State), None).await?;
    let by_profile = grouped(core, Expr::col(Column::Profile), None).await?;
    let since = day_start(now) - Duration::days(i64::from(MAX_DAYS) - 1);
    let day = day_of(core.db.get_database_backend());
    let per_day = grouped(core, day, Some(since)).await?;
    let txn = core.db.begin().await?;
    stats_rollup::Entity::delete_many().exec(&txn).await?;
    let rows: Vec<stats_rollup::ActiveModel> =
        [(STATE, &by_state), (PROFILE, &by_profile), (DAY, &per_day)]
            .into_iter()
            .flat_map(|(dimension, groups)| {
                groups.iter().map(move |g| stats_rollup::ActiveModel {
                    dimension: Set(dimension.to_owned()),
                    key: Set(g.key.clone()),
                    count: Set(g.count),
                    bytes: Set(g.bytes),
                    computed_at: Set(now),
                })
            })
            .collect();
    for chunk in rows.chunks(200) {
        stats_rollup::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Stats {
        by_state,
        by_profile,
        per_day,
        computed_at: now,
    })
}

async fn read_rollup(core: &Core) -> CoreResult<Option<Stats>> {
    let rows = stats_rollup::Entity::find()
        .order_by_asc(stats_rollup::Column::Key)
        .all(&core.db)
        .await?;
    let Some(computed_at) = rows.iter().map(|r| r.computed_at).min() else {
        return Ok(None);
    };
    let of = |dimension: &str| -> Vec<Group> {
        rows.iter()
            .filter(|r| r.dimension == dimension)
            .map(|r| Group {
                key: r.key.clone(),
                count: r.count,
                bytes: r.bytes,
            })
            .collect()
    };
    Ok(Some(Stats {
        by_state: of(STATE),
        by_profile: of(PROFILE),
        per_day: of(DAY),
        computed_at,
    }))
}

fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(at, |t| t.and_utc())
}

/// The UTC day of `created_at` as `YYYY-MM-DD`, in the backend's own terms.
fn day_of(backend: DbBackend) -> SimpleExpr {
    match backend {
        // SQLite keeps timestamps as text that starts with the date.
        DbBackend::Sqlite => Expr::cust("substr(\"created_at\", 1, 10)"),
        _ => Expr::cust("to_char(\"created_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    }
}

async fn grouped(
    core: &Core,
    key: SimpleExpr,
    since: Option<DateTime<Utc>>,
) -> CoreResult<Vec<Group>> {
    let mut query = Entity::find()
        .select_only()
        .expr_as(key.clone(), "key")
        .expr(Func::count(Expr::col(Column::Id)))
        // PostgreSQL sums a bigint into a numeric: cast it back.
        .expr(Func::sum(Expr::col(Column::Size)).cast_as(Alias::new("BIGINT")))
        .group_by(key.clone())
        .order_by_asc(key);
    if let Some(since) = since {
        query = query.filter(Column::CreatedAt.gte(since));
    }
    let rows: Vec<(String, i64, Option<i64>)> = query.into_tuple().all(&core.db).await?;
    Ok(rows
        .into_iter()
        .map(|(key, count, bytes)| Group {
            key,
            count,
            bytes: bytes.unwrap_or(0),
        })
        .collect())
}
