//! The admin list of sessions: filters an operator reaches for at 3 a.m., newest first,
//! with an opaque keyset cursor. Pages never skip nor repeat a session, even while new
//! ones are created (they sort before the first page).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sluice_domain::state::has_deadline;
use sluice_domain::{Failure, UploadMethod, UploadState};
use sluice_entity::upload_session::{Column, Entity};

use crate::Core;
use crate::error::{CoreError, CoreResult};
use crate::upload::SessionView;

/// The largest page.
pub const MAX_LIMIT: u64 = 200;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u64 = 50;

/// Which sessions to list; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Any of these states.
    pub states: Vec<UploadState>,
    pub owner: Option<String>,
    pub profile: Option<String>,
    pub method: Option<UploadMethod>,
    /// Rejected for this reason.
    pub failure: Option<Failure>,
    /// The object key, exactly (what a bucket listing or a store log shows).
    pub key: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Live sessions whose deadline has passed (a stuck job queue shows here).
    pub overdue: Option<bool>,
    /// Sessions that still owe the bucket a cleanup.
    pub cleanup_owed: Option<bool>,
    /// Only sessions of these profiles (an upload token's scope).
    pub profiles_in: Option<Vec<String>>,
    /// The sanitised filename, exactly.
    pub filename: Option<String>,
    /// The declared size, exactly.
    pub size: Option<u64>,
    /// The declared SHA-256 (lower-case hex), exactly.
    pub sha256: Option<String>,
    /// Created by this batch.
    pub batch_id: Option<uuid::Uuid>,
}

/// One page.
#[derive(Clone, Debug)]
pub struct Page {
    pub items: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

/// A page of sessions matching `filter`, newest first, after `cursor`.
pub async fn list(
    core: &Core,
    filter: &Filter,
    limit: Option<u64>,
    cursor: Option<&str>,
) -> CoreResult<Page> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(CoreError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let mut query = Entity::find().filter(condition(core, filter));
    if let Some(cursor) = cursor {
        let (at, id) = decode_cursor(cursor)?;
        query = query.filter(
            Condition::any().add(Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(at))
                    .add(Column::Id.lt(id)),
            ),
        );
    }
    let mut rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(&core.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(encode_cursor(last.created_at, last.id)),
        _ => None,
    };
    Ok(Page {
        items: rows.iter().map(SessionView::from).collect(),
        next_cursor,
    })
}

fn condition(core: &Core, f: &Filter) -> Condition {
    let mut c = Condition::all();
    if !f.states.is_empty() {
        c = c.add(Column::State.is_in(f.states.iter().map(|s| s.as_str())));
    }
    if let Some(owner) = &f.owner {
        c = c.add(Column::Owner.eq(owner.as_str()));
    }
    if let Some(profile) = &f.profile {
        c = c.add(Column::Profile.eq(profile.as_str()));
    }
    if let Some(method) = f.method {
        c = c.add(Column::Method.eq(method));
    }
    if let Some(failure) = f.failure {
        c = c.add(Column::Failure.eq(failure.code()));
    }
    if let Some(key) = &f.key {
        c = c.add(Column::Key.eq(key.as_str()));
    }
    if let Some(profiles) = &f.profiles_in {
        c = c.add(Column::Profile.is_in(profiles.iter().map(String::as_str)));
    }
    if let Some(filename) = &f.filename {
        c = c.add(Column::Filename.eq(filename.as_str()));
    }
    if let Some(size) = f.size {
        c = c.add(Column::Size.eq(i64::try_from(size).unwrap_or(i64::MAX)));
    }
    if let Some(sha256) = &f.sha256 {
        c = c.add(Column::Sha256.eq(sha256.as_str()));
    }
    if let Some(batch) = f.batch_id {
        c = c.add(Column::BatchId.eq(batch));
    }
    if let Some(after) = f.created_after {
        c = c.add(Column::CreatedAt.gte(after));
    }
    if let Some(before) = f.created_before {
        c = c.add(Column::CreatedAt.lt(before));
    }
    let live: Vec<&str> = UploadState::ALL
        .into_iter()
        .filter(|s| has_deadline(*s))
        .map(UploadState::as_str)
        .collect();
    match f.overdue {
        Some(true) => {
            c = c
                .add(Column::State.is_in(live))
                .add(Column::ExpiresAt.lt(core.now()));
        }
        Some(false) => {
            c = c.add(
                Condition::any()
                    .add(Column::State.is_not_in(live))
                    .add(Column::ExpiresAt.gte(core.now())),
            );
        }
        None => {}
    }
    match f.cleanup_owed {
        Some(true) => c = c.add(Column::CleanupDueAt.is_not_null()),
        Some(false) => c = c.add(Column::CleanupDueAt.is_null()),
        None => {}
    }
    c
}

fn encode_cursor(at: DateTime<Utc>, id: uuid::Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> CoreResult<(DateTime<Utc>, uuid::Uuid)> {
    let bad = || CoreError::invalid("cursor", "not a cursor this API handed out");
    let text = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        // No row is created outside years 1 to 9999, and PostgreSQL refuses instants
        // before 4713 BC (SQLite would just find nothing): refused alike everywhere.
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_outside_the_years_a_row_can_have_are_refused() {
        // PostgreSQL answered 500 ("timestamp out of range") to this one; SQLite 200.
        let nil = uuid::Uuid::nil();
        for micros in [
            i64::MIN,
            -8_000_000_000_000_000_000,
            -62_200_000_000_000_000,
            i64::MAX,
        ] {
            let forged = URL_SAFE_NO_PAD.encode(format!("{micros}|{nil}"));
            assert!(decode_cursor(&forged).is_err(), "{micros}");
        }
        let at = DateTime::from_timestamp_micros(-62_135_596_800_000_000).expect("year 1");
        assert!(decode_cursor(&encode_cursor(at, nil)).is_ok());
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let at = DateTime::from_timestamp_micros(1_763_800_000_123_456).expect("instant");
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            decode_cursor(&encode_cursor(at, id)).expect("decodes"),
            (at, id)
        );
        for bad in [
            "",
            "!!",
            "bm9waXBl",
            &URL_SAFE_NO_PAD.encode("1|not-a-uuid"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
