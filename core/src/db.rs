//! Connecting to the database and bringing its schema up to date. SQLite (embedded) and
//! PostgreSQL (production) are chosen by URL; the same migrations run on both.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sluice_migration::{Migrator, MigratorTrait};

use crate::error::CoreResult;

/// Opens a pool. sqlx already sets foreign keys on and a 5 s busy timeout on every SQLite
/// connection; WAL is set here once, as it belongs to the database file, so readers do
/// not block the single writer.
pub async fn connect(url: &str, max_connections: u32) -> CoreResult<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode = WAL;").await?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> CoreResult<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// A cheap round trip, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> CoreResult<()> {
    db.ping().await?;
    Ok(())
}
