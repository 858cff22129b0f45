//! Persistence, migrations and pragmas: what only a SQLite file can show.

use super::*;

#[tokio::test]
async fn reopening_a_file_finds_everything() {
    let dir = TempDir::new().unwrap();
    let (seeded, before) = {
        let store = SqliteStore::open(db_path(&dir)).unwrap();
        let seeded = seed(&store).await;
        let before = dump(&store, seeded.primary.id()).await;
        (seeded, before)
    };
    let store = SqliteStore::open(db_path(&dir)).unwrap();
    let id = seeded.primary.id();
    let after = dump(&store, id).await;
    assert_eq!(after, before);
    assert_eq!(after.view.version, Version(1));
    assert_eq!(after.view.memberships.len(), 4);
    assert_eq!(after.runs.len(), 1);
    assert_eq!(after.held.len(), 1);
    assert_eq!(store.primary().await.unwrap().map(|p| p.id()), Some(id));
    let ada = store
        .user_by_email(&email("ADA@example.COM"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.id, seeded.ada);
    assert_eq!(store.accounts_of(seeded.bob).await.unwrap().len(), 1);
    // The lease survived too, with its exact expiry.
    let err = store
        .acquire_lease(id, "worker-b", t(101), t(6))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Leased { holder, until, .. } if holder == "worker-a" && *until == t(100)),
        "{err:?}"
    );
}

#[tokio::test]
async fn schema_from_a_newer_build_is_refused_and_left_untouched() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let newer = SqliteStore::SCHEMA_VERSION + 1;
    {
        let conn = raw(&path);
        conn.execute_batch(&format!(
            "CREATE TABLE future (x TEXT); INSERT INTO future VALUES ('kept'); \
             PRAGMA user_version = {newer};"
        ))
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported }
            if found == newer && supported == SqliteStore::SCHEMA_VERSION),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is byte-for-byte unchanged"
    );
    assert!(!dir.path().join("directory.db-wal").exists());
    let conn = raw(&path);
    assert_eq!(user_version(&conn), newer);
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "delete", "not switched to WAL");
    let kept: String = conn
        .query_row("SELECT x FROM future", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "kept");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'integrations'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0, "no migration ran");
}

#[tokio::test]
async fn a_store_file_from_a_newer_build_is_refused_with_its_data_intact() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let seeded = {
        let store = SqliteStore::open(&path).unwrap();
        seed(&store).await
    };
    raw(&path)
        .pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 7)
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, .. } if found == SqliteStore::SCHEMA_VERSION + 7)
    );
    // Put the version back: everything is still there.
    raw(&path)
        .pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.users().await.unwrap().len(), 2);
    assert_eq!(
        store.version(seeded.primary.id()).await.unwrap(),
        Version(1)
    );
}

#[tokio::test]
async fn migrations_are_idempotent_across_reopens() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let schema = |conn: &Connection| -> Vec<(String, String)> {
        conn.prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let id = {
        let store = SqliteStore::open(&path).unwrap();
        seed(&store).await.primary.id()
    };
    let first = schema(&raw(&path));
    assert!(first.iter().any(|(name, _)| name == "memberships"));
    for _ in 0..3 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.version(id).await.unwrap(), Version(1));
        drop(store);
        let conn = raw(&path);
        assert_eq!(user_version(&conn), SqliteStore::SCHEMA_VERSION);
        assert_eq!(schema(&conn), first);
    }
    // Two stores on one file at once: the second open finds the schema current.
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();
    assert_eq!(a.users().await.unwrap(), b.users().await.unwrap());
}

#[tokio::test]
async fn file_stores_use_wal_and_in_memory_stores_work() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    primary(&store).await;
    let journal: String = raw(&path)
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    assert!(dir.path().join("directory.db-wal").exists());
    assert!(format!("{store:?}").contains("directory.db"));

    let memory = SqliteStore::open_in_memory().unwrap();
    assert!(primary(&memory).await.id() != IntegrationId::random());
    assert!(format!("{memory:?}").contains(":memory:"));
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_corrupt() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                backend: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), vec![b'x'; 8192]);
}
