//! Embedded schema migrations, applied on connect under an advisory lock (so that workers
//! starting together migrate once).

use dirsync_store::Error;
use tokio_postgres::Client;

use crate::codec::{Db, unavailable};

/// One embedded migration.
struct Migration {
    /// The schema version the database has once this migration is applied.
    version: i64,
    /// The file it comes from, for error messages.
    name: &'static str,
    /// The SQL.
    sql: &'static str,
}

/// Every migration, in order (versions 1, 2, 3, ...).
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial.sql",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_owned_groups.sql",
        sql: include_str!("../migrations/0002_owned_groups.sql"),
    },
    Migration {
        version: 3,
        name: "0003_push_channels.sql",
        sql: include_str!("../migrations/0003_push_channels.sql"),
    },
    Migration {
        version: 4,
        name: "0004_activity_cursors.sql",
        sql: include_str!("../migrations/0004_activity_cursors.sql"),
    },
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key under which migrations run ("dirsync" in ASCII).
const MIGRATION_LOCK: i64 = 0x0064_6972_7379_6e63;

/// Brings the schema (of the connection's `search_path`) up to date: every pending migration
/// and the new version in one transaction, under an advisory lock. A database from a newer build
/// is refused untouched. `create_schema` (a tenant's schema, already in the `search_path`) is
/// created first if it does not exist yet.
pub(crate) async fn migrate(client: &mut Client, create_schema: Option<&str>) -> Result<(), Error> {
    let tx = client.transaction().await.db()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .db()?;
    if let Some(schema) = create_schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .await
            .db()?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS dirsync_schema (version BIGINT NOT NULL); \
         INSERT INTO dirsync_schema (version) \
         SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM dirsync_schema)",
    )
    .await
    .db()?;
    let found: i64 = tx
        .query_one("SELECT version FROM dirsync_schema", &[])
        .await
        .db()?
        .get(0);
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| unavailable(format!("migration {} failed: {e}", migration.name)))?;
        tracing::info!(
            migration = migration.name,
            version = migration.version,
            "applied PostgreSQL schema migration"
        );
    }
    tx.execute("UPDATE dirsync_schema SET version = $1", &[&LATEST])
        .await
        .db()?;
    tx.commit().await.db()
}
