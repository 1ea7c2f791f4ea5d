//! The scanning stage: what the malware scanner said of a session's bytes (`clean`, or
//! `unscanned` where a profile passes what is too large to scan), on the session and on
//! the file it became. NULL: the profile did not scan (or the row predates scanning).
//! And the state `scanning` joins the states the table's CHECK constraint allows.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::{prelude::*, schema::*};

/// Every state, `scanning` included (the first migration's list, which it must not
/// change: a migration that ran is never edited).
const STATES: &str = "'pending', 'verifying', 'scanning', 'uploaded', 'committed', \
                      'rejected', 'aborted', 'expired', 'deleted'";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend: SQLite's table rebuild below must run on one
    /// connection and land whole or not at all.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UploadSessions::Table)
                    .add_column(string_len_null(UploadSessions::Scan, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Files::Table)
                    .add_column(string_len_null(Files::Scan, 16))
                    .to_owned(),
            )
            .await?;
        allow_scanning_state(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop a column in place; the columns are harmless to keep.
        Ok(())
    }
}

/// Widens `upload_sessions_state_ck` to allow `scanning`.
async fn allow_scanning_state(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            // NOT VALID: no scan of the table under its exclusive lock. Every stored row
            // passed the narrower check this one replaces, so it passes this one; new
            // and updated rows are checked as always.
            db.execute_unprepared(&format!(
                "ALTER TABLE upload_sessions DROP CONSTRAINT upload_sessions_state_ck, \
                 ADD CONSTRAINT upload_sessions_state_ck CHECK (state IN ({STATES})) NOT VALID"
            ))
            .await?;
            Ok(())
        }
        DbBackend::Sqlite => widen_sqlite_check(db).await,
        other => Err(DbErr::Migration(format!(
            "the scanning state: no constraint change written for {other:?}"
        ))),
    }
}

/// SQLite cannot alter a CHECK constraint, and the schema table cannot be written here
/// (SQLite's defensive mode). Its generic procedure (ALTER TABLE, "making other kinds of
/// table schema changes"): a new table from the old one's own SQL with the check widened,
/// every row copied, the old table dropped, the new one renamed, and the old indexes made
/// again from their own SQL. Nothing is restated by hand, so no column can be lost.
async fn widen_sqlite_check<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    const BEFORE: &str = "'verifying', 'uploaded'";
    const AFTER: &str = "'verifying', 'scanning', 'uploaded'";
    const SCRATCH: &str = "upload_sessions_widened";
    let sql = table_sql(db).await?;
    if sql.contains(AFTER) {
        return Ok(());
    }
    let (Some(at), true) = (sql.find("upload_sessions"), sql.contains(BEFORE)) else {
        return Err(DbErr::Migration(format!(
            "upload_sessions' state check is not the one expected: {sql}"
        )));
    };
    // The name as the CREATE TABLE spells it (quoted or not) is the first occurrence.
    let widened = format!(
        "{}{SCRATCH}{}",
        &sql[..at],
        &sql[at + "upload_sessions".len()..]
    )
    .replace(BEFORE, AFTER);
    let indexes: Vec<String> = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_schema WHERE type = 'index' \
             AND tbl_name = 'upload_sessions' AND sql IS NOT NULL",
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    db.execute_unprepared(&widened).await?;
    db.execute_unprepared(&format!(
        "INSERT INTO {SCRATCH} SELECT * FROM upload_sessions"
    ))
    .await?;
    db.execute_unprepared("DROP TABLE upload_sessions").await?;
    db.execute_unprepared(&format!("ALTER TABLE {SCRATCH} RENAME TO upload_sessions"))
        .await?;
    for index in indexes {
        db.execute_unprepared(&index).await?;
    }
    let sql = table_sql(db).await?;
    if !sql.contains(AFTER) {
        return Err(DbErr::Migration(format!(
            "upload_sessions' state check was not widened: {sql}"
        )));
    }
    Ok(())
}

async fn table_sql<C: ConnectionTrait>(db: &C) -> Result<String, DbErr> {
    db.query_one_raw(Statement::from_string(
        DbBackend::Sqlite,
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'upload_sessions'",
    ))
    .await?
    .ok_or_else(|| DbErr::Migration("no upload_sessions table".into()))?
    .try_get_by_index::<String>(0)
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Scan,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Scan,
}
