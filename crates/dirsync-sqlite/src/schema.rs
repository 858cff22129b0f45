//! Opening a connection: pragmas and embedded schema migrations.

use std::path::Path;
use std::time::Duration;

use dirsync_store::Error;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::codec::{Db, unavailable};

/// How long a statement waits for another connection's lock before failing with `Unavailable`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The size the WAL file is truncated back to after a checkpoint. One apply of a million rows
/// grows it to the size of what it wrote; without a limit the file would keep that size.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Prepared statements kept per connection (the store uses a few dozen distinct ones; the
/// per-row ones of an apply must never be evicted by each other).
const STATEMENT_CACHE: usize = 64;

/// One embedded migration.
struct Migration {
    /// The `user_version` the database has once this migration is applied.
    version: i64,
    /// The file it comes from, for error messages.
    name: &'static str,
    /// The SQL.
    sql: &'static str,
}

/// Every migration, in order. Versions are 1, 2, 3, ... (checked at compile time below).
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_initial.sql",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "0002_ownership.sql",
        sql: include_str!("../migrations/0002_ownership.sql"),
    },
    Migration {
        version: 3,
        name: "0003_api_tokens.sql",
        sql: include_str!("../migrations/0003_api_tokens.sql"),
    },
    Migration {
        version: 4,
        name: "0004_owned_groups.sql",
        sql: include_str!("../migrations/0004_owned_groups.sql"),
    },
    Migration {
        version: 5,
        name: "0005_push_channels.sql",
        sql: include_str!("../migrations/0005_push_channels.sql"),
    },
    Migration {
        version: 6,
        name: "0006_activity_cursors.sql",
        sql: include_str!("../migrations/0006_activity_cursors.sql"),
    },
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

const _: () = {
    let mut i = 0;
    while i < MIGRATIONS.len() {
        assert!(
            MIGRATIONS[i].version == i as i64 + 1,
            "migrations must be numbered 1, 2, 3, ... in order"
        );
        i += 1;
    }
};

/// Whether the database lives in a file (WAL) or in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A file: WAL journal.
    File,
    /// In memory: SQLite's memory journal (WAL needs a file).
    Memory,
}

/// Configures a fresh connection and brings its schema up to date.
///
/// The schema version is checked before anything is written, so a database from a newer build
/// is refused untouched (its journal mode included).
pub(crate) fn prepare(conn: &mut Connection, mode: Mode) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    let found = user_version(conn)?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    if mode == Mode::File {
        let journal: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .db()?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(unavailable(format!(
                "could not enable the WAL journal (SQLite kept journal_mode={journal}); \
                 is the file on a network filesystem?"
            )));
        }
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .db()?;
    }
    // In WAL mode, NORMAL syncs at checkpoints, not at every commit: a crash of the process
    // loses nothing, a power loss can lose the last commits but never corrupts the file.
    conn.pragma_update(None, "synchronous", "NORMAL").db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    let foreign_keys: i64 = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .db()?;
    if foreign_keys != 1 {
        return Err(unavailable(
            "this SQLite build does not enforce foreign keys",
        ));
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    migrate(conn)
}

/// Opens a read connection to a file the write connection has prepared: read-only, with the
/// same busy timeout and statement cache. In WAL mode it reads the last committed state while
/// a write runs.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .db()?;
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn user_version(conn: &Connection) -> Result<i64, Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .db()
}

/// Applies the migrations the database lacks, all in one transaction, and records the new
/// version in `PRAGMA user_version` within it: either every migration is applied or none.
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    if user_version(conn)? == LATEST {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .db()?;
    // Another process may have migrated while we waited for the write lock.
    let found = user_version(&tx)?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(migration.sql)
            .map_err(|e| Error::Unavailable {
                backend: crate::codec::BACKEND,
                source: format!("migration {} failed: {e}", migration.name).into(),
            })?;
        tracing::info!(
            migration = migration.name,
            version = migration.version,
            "applied SQLite schema migration"
        );
    }
    tx.pragma_update(None, "user_version", LATEST).db()?;
    tx.commit().db()
}
