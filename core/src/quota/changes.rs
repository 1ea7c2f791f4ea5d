//! Applying the quota changes of many sessions at once: a batch of transitions (a sweep's
//! expiries, a cleanup batch's releases) moves the counters of hundreds of owners, and
//! doing that row by row cost two statements per (owner, scope) — the bottleneck of a
//! backlog. Here the changes are summed per counter row and applied in one
//! `UPDATE … FROM (VALUES …)` per scope class, on SQLite and PostgreSQL alike.
//!
//! Invariants:
//! - only existing counter rows move (a scope without a row has no limit: its usage is
//!   computed on read); no counter goes below zero;
//! - daily counters move only while the row still counts the session's creation day. A
//!   row's day is never earlier than the creation day of any session it counted (a row
//!   only moves forward), so of a batch's sessions only those created on the latest day
//!   can still be counted by it: the daily change applied is theirs, guarded by that day;
//! - the owners' total rows are written before the profile rows, the order every single
//!   writer takes them in (total, then profile), so a batch never deadlocks with a create
//!   or a single transition of one of its owners.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use super::QuotaChange;
use super::{TOTAL, scope_names};
use crate::error::CoreResult;

/// The change of one session (or of several summed): whose, in which profile, created on
/// which quota day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owed {
    pub owner: String,
    pub profile: String,
    pub created_day: i32,
}

/// What one counter row receives.
#[derive(Clone, Copy, Debug, Default)]
struct RowChange {
    reserved_bytes: i64,
    stored_bytes: i64,
    /// The latest creation day among the changes, and the daily changes of that day.
    day: i32,
    uploads_today: i64,
    bytes_today: i64,
}

impl RowChange {
    fn add(&mut self, day: i32, change: QuotaChange) {
        self.reserved_bytes += change.reserved_bytes;
        self.stored_bytes += change.stored_bytes;
        if change.uploads_today == 0 && change.bytes_today == 0 {
            return;
        }
        if day > self.day {
            // An earlier day's daily changes can no longer meet a row that counts this one.
            self.day = day;
            self.uploads_today = 0;
            self.bytes_today = 0;
        }
        if day == self.day {
            self.uploads_today += change.uploads_today;
            self.bytes_today += change.bytes_today;
        }
    }

    fn is_nothing(&self) -> bool {
        self.reserved_bytes == 0
            && self.stored_bytes == 0
            && self.uploads_today == 0
            && self.bytes_today == 0
    }
}

/// Rows per statement: 7 bound values each, well inside SQLite's and PostgreSQL's limits.
const CHUNK: usize = 1_000;

/// Applies every change of `changes` to the counter rows of the owners' total and of
/// their profiles (see the module for the invariants).
pub async fn apply_all<C: ConnectionTrait>(
    db: &C,
    changes: impl IntoIterator<Item = (Owed, QuotaChange)>,
) -> CoreResult<()> {
    let mut totals: BTreeMap<String, RowChange> = BTreeMap::new();
    let mut profiles: BTreeMap<(String, String), RowChange> = BTreeMap::new();
    for (owed, change) in changes {
        if change == QuotaChange::default() {
            continue;
        }
        let [total, profile] = scope_names(&owed.profile);
        debug_assert_eq!(total, TOTAL);
        totals
            .entry(owed.owner.clone())
            .or_default()
            .add(owed.created_day, change);
        profiles
            .entry((owed.owner.clone(), profile.to_owned()))
            .or_default()
            .add(owed.created_day, change);
    }
    let totals: Vec<(String, String, RowChange)> = totals
        .into_iter()
        .map(|(owner, c)| (owner, TOTAL.to_owned(), c))
        .collect();
    let profiles: Vec<(String, String, RowChange)> = profiles
        .into_iter()
        .map(|((owner, scope), c)| (owner, scope, c))
        .collect();
    for class in [totals, profiles] {
        let rows: Vec<_> = class
            .into_iter()
            .filter(|(.., c)| !c.is_nothing())
            .collect();
        for chunk in rows.chunks(CHUNK) {
            db.execute_raw(statement(db.get_database_backend(), chunk))
                .await?;
        }
    }
    Ok(())
}

/// `UPDATE quota_usage SET … FROM (VALUES (owner, scope, reserved, stored, day, uploads,
/// bytes), …) AS v WHERE owner and scope match`: each counter row matches at most one
/// VALUES row (they are unique per owner and scope).
fn statement(backend: DatabaseBackend, rows: &[(String, String, RowChange)]) -> Statement {
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 7);
    let mut tuples = Vec::with_capacity(rows.len());
    for (owner, scope, c) in rows {
        let first = values.len();
        values.extend([
            Value::from(owner.clone()),
            Value::from(scope.clone()),
            Value::from(c.reserved_bytes),
            Value::from(c.stored_bytes),
            Value::from(c.day),
            Value::from(c.uploads_today),
            Value::from(c.bytes_today),
        ]);
        let params: Vec<String> = (first..values.len())
            .map(|i| placeholder(backend, i))
            .collect();
        tuples.push(format!("({})", params.join(", ")));
    }
    // VALUES columns are named column1… on both SQLite and PostgreSQL.
    let today = "quota_usage.day = v.column5";
    let sql = format!(
        "UPDATE quota_usage SET \
           reserved_bytes = {reserved}, \
           stored_bytes = {stored}, \
           uploads_today = CASE WHEN {today} THEN {uploads} ELSE quota_usage.uploads_today END, \
           bytes_today = CASE WHEN {today} THEN {bytes} ELSE quota_usage.bytes_today END \
         FROM (VALUES {tuples}) AS v \
         WHERE quota_usage.owner = v.column1 AND quota_usage.scope = v.column2",
        reserved = floored("quota_usage.reserved_bytes", "v.column3"),
        stored = floored("quota_usage.stored_bytes", "v.column4"),
        uploads = floored("quota_usage.uploads_today", "v.column6"),
        bytes = floored("quota_usage.bytes_today", "v.column7"),
        tuples = tuples.join(", "),
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// `column + delta`, never below zero.
fn floored(column: &str, delta: &str) -> String {
    format!("CASE WHEN {column} + {delta} < 0 THEN 0 ELSE {column} + {delta} END")
}

/// The `index`th (from 0) bound parameter's placeholder.
fn placeholder(backend: DatabaseBackend, index: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${}", index + 1),
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(uploads: i64, bytes: i64, reserved: i64) -> QuotaChange {
        QuotaChange {
            reserved_bytes: reserved,
            stored_bytes: 0,
            uploads_today: uploads,
            bytes_today: bytes,
        }
    }

    #[test]
    fn daily_changes_of_an_earlier_day_give_way_to_the_latest_days() {
        let mut row = RowChange::default();
        row.add(10, change(-1, -5, -5));
        row.add(12, change(-1, -7, -7));
        row.add(11, change(-1, -9, -9));
        row.add(12, change(-1, -1, -1));
        assert_eq!(row.day, 12);
        assert_eq!(row.uploads_today, -2);
        assert_eq!(row.bytes_today, -8);
        assert_eq!(
            row.reserved_bytes, -22,
            "reservations move whatever the day"
        );
    }

    #[test]
    fn a_change_without_daily_parts_does_not_move_the_day() {
        let mut row = RowChange::default();
        row.add(9, change(-1, -3, 0));
        row.add(15, change(0, 0, -4));
        assert_eq!((row.day, row.uploads_today, row.bytes_today), (9, -1, -3));
        assert_eq!(row.reserved_bytes, -4);
        assert!(!row.is_nothing());
        assert!(RowChange::default().is_nothing());
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let rows = vec![("o".to_owned(), "*".to_owned(), RowChange::default())];
        let pg = statement(DatabaseBackend::Postgres, &rows);
        assert!(
            pg.sql.contains("($1, $2, $3, $4, $5, $6, $7)"),
            "{}",
            pg.sql
        );
        let lite = statement(DatabaseBackend::Sqlite, &rows);
        assert!(lite.sql.contains("(?, ?, ?, ?, ?, ?, ?)"), "{}", lite.sql);
        assert_eq!(lite.values.map(|v| v.0.len()), Some(7));
    }
}
