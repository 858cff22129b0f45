//! Every test of dirsync-sqlite (one test binary): the shared conformance suite on in-memory and
//! file-backed stores, then what only a SQLite file can show (persistence, migrations, WAL,
//! corrupt rows, database-level guarantees), and parity with the in-memory reference backend.

// Test code, helpers included: asserting (unwrapping, panicking) is its job. (clippy.toml's
// allow-*-in-tests covers `#[test]` functions, not the helpers of an integration-test file.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use dirsync_core::{
    AnyIntegration, DirectionKind, DirectoryChanges, DirectoryOp, HeldPlan, Inbound, Integration,
    IntegrationId, LifecycleEvent, LifecycleKind, LinkedBy, MemberKind, MemberRole, Membership,
    MembershipKey, PlanId, Primary, RunId, SyncRun, UserId, UserProfile, Version,
};
use dirsync_sqlite::SqliteStore;
use dirsync_store::conformance::fixtures::{
    account, create_user, email, group, held_plan, membership, new_integration, org_unit, primary,
    run, t, xid,
};
use dirsync_store::{Error, InMemoryStore, Store};
use rusqlite::Connection;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Conformance

mod conformance_in_memory {
    use super::*;

    dirsync_store::conformance_tests!(|| async {
        Arc::new(SqliteStore::open_in_memory().unwrap()) as Arc<dyn Store>
    });
}

mod conformance_file_backed {
    use super::*;

    // Each case gets its own directory, kept until the case ends.
    dirsync_store::conformance_tests!(|| async {
        let dir = TempDir::new().unwrap();
        let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
        (Arc::new(store) as Arc<dyn Store>, dir)
    });
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("directory.db")
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// What `seed` wrote.
struct Seed {
    primary: Integration<Inbound, Primary>,
    ada: UserId,
    bob: UserId,
}

/// A primary with two users, their accounts, two groups (one nested in the other) with
/// memberships of every kind, and an org unit; a run, a held plan and a lease.
async fn seed(store: &dyn Store) -> Seed {
    let p = primary(store).await;
    let id = p.id();
    let (ada, bob) = (UserId::random(), UserId::random());
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    changes.extend([
        create_user(&p, ada, "Ada@Example.com"),
        create_user(&p, bob, "bob@example.com"),
        DirectoryOp::UpsertAccount(account(
            id,
            "100",
            "ada@example.com",
            Some((ada, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertAccount(account(
            id,
            "200",
            "bob@example.com",
            Some((bob, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertAccount(account(id, "300", "nobody@example.com", None)),
        DirectoryOp::UpsertGroup(group(id, "eng")),
        DirectoryOp::UpsertGroup(group(id, "all")),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Owner,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "all",
            "eng",
            MemberKind::Group,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "all",
            "C01",
            MemberKind::Customer,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "all",
            "200",
            MemberKind::User,
            MemberRole::Manager,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou1", "/Engineering", None)),
    ]);
    store.apply(&changes).await.unwrap();
    store.record_run(&run(id, t(3))).await.unwrap();
    store
        .hold_plan(&held_plan(id, b"plan", t(4)))
        .await
        .unwrap();
    store
        .acquire_lease(id, "worker-a", t(100), t(5))
        .await
        .unwrap();
    Seed {
        primary: p,
        ada,
        bob,
    }
}

/// Everything a store holds about one integration, for before/after comparisons.
#[derive(Debug, PartialEq)]
struct Dump {
    integrations: Vec<AnyIntegration>,
    view: dirsync_store::LocalView,
    users: Vec<dirsync_core::DirectoryUser>,
    runs: Vec<SyncRun>,
    held: Vec<HeldPlan>,
}

async fn dump(store: &dyn Store, id: IntegrationId) -> Dump {
    Dump {
        integrations: store.integrations().await.unwrap(),
        view: store.view(id).await.unwrap(),
        users: store.users().await.unwrap(),
        runs: store.runs(id, 100).await.unwrap(),
        held: store.held_plans(id).await.unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Persistence, migrations, pragmas

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

// ---------------------------------------------------------------------------------------------
// Corrupt rows

/// Seeds a file store, corrupts one row by raw SQL, and returns the store reopened.
async fn corrupted(sql: &str) -> (TempDir, SqliteStore, Seed) {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let seeded = {
        let store = SqliteStore::open(&path).unwrap();
        seed(&store).await
    };
    let changed = raw(&path).execute(sql, []).unwrap();
    assert_eq!(changed, 1, "{sql}");
    let store = SqliteStore::open(&path).unwrap();
    (dir, store, seeded)
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, Error>, table: &str) {
    match result {
        Err(Error::Corrupt { backend, detail }) => {
            assert_eq!(backend, "sqlite");
            assert!(detail.contains(table), "{detail:?} should name {table}");
        }
        other => panic!("expected Corrupt naming {table}, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_json_in_a_row_is_corrupt_not_a_panic() {
    let (_dir, store, s) =
        corrupted("UPDATE users SET record = '{not json' WHERE email_key = 'bob@example.com'")
            .await;
    assert_corrupt(store.users().await, "users");
    assert_corrupt(store.user(s.bob).await, "users");
    assert_corrupt(
        store.user_by_email(&email("bob@example.com")).await,
        "users",
    );
    assert_corrupt(store.view(s.primary.id()).await, "users");
    // Other rows still read; a write that needs the row fails as corrupt and writes nothing.
    assert!(store.user(s.ada).await.unwrap().is_some());
    let mut changes = DirectoryChanges::new(&s.primary, Version(1));
    changes.push(DirectoryOp::Profile(
        s.primary.profile_authority().lifecycle(
            s.bob,
            LifecycleEvent {
                at: t(9),
                kind: LifecycleKind::Suspended,
                employment_type: None,
            },
        ),
    ));
    assert_corrupt(store.apply(&changes).await, "users");
    assert_eq!(store.version(s.primary.id()).await.unwrap(), Version(1));
}

#[tokio::test]
async fn an_invalid_email_in_a_row_is_corrupt() {
    let (_dir, store, s) = corrupted(
        "UPDATE users SET record = replace(record, 'Ada@Example.com', 'not an email') \
         WHERE email_key = 'ada@example.com'",
    )
    .await;
    assert_corrupt(store.user(s.ada).await, "users");
    let (_dir, store, s) =
        corrupted("UPDATE memberships SET member_email = 'nope' WHERE member_ext = '100'").await;
    assert_corrupt(store.view(s.primary.id()).await, "memberships");
    let (_dir, store, s) = corrupted(
        "UPDATE memberships SET member_kind = 1, member_ext = '' WHERE member_ext = '100'",
    )
    .await;
    assert_corrupt(store.view(s.primary.id()).await, "memberships");
}

#[tokio::test]
async fn a_row_that_disagrees_with_its_key_is_corrupt() {
    let (_dir, store, s) =
        corrupted("UPDATE accounts SET external_id = '999' WHERE external_id = '100'").await;
    assert_corrupt(store.view(s.primary.id()).await, "accounts");
    assert_corrupt(store.accounts_of(s.ada).await, "accounts");
    let (_dir, store, s) = corrupted(
        "UPDATE users SET email_key = 'other@example.com' WHERE email_key = 'bob@example.com'",
    )
    .await;
    assert_corrupt(store.user(s.bob).await, "users");
    let (_dir, store, s) =
        corrupted("UPDATE groups SET record = '{}' WHERE external_id = 'eng'").await;
    assert_corrupt(store.view(s.primary.id()).await, "groups");
}

#[tokio::test]
async fn corrupt_integrations_runs_plans_and_leases_are_reported() {
    let (_dir, store, s) = corrupted("UPDATE integrations SET record = '[]'").await;
    assert_corrupt(store.integrations().await, "integrations");
    assert_corrupt(store.integration(s.primary.id()).await, "integrations");
    assert_corrupt(store.primary().await, "integrations");
    let changes = DirectoryChanges::new(&s.primary, Version(1));
    assert_corrupt(store.apply(&changes).await, "integrations");

    let (_dir, store, s) = corrupted("UPDATE runs SET record = '{\"id\": 1}'").await;
    assert_corrupt(store.runs(s.primary.id(), 10).await, "runs");

    let (_dir, store, s) = corrupted("UPDATE held_plans SET record = 'null'").await;
    assert_corrupt(store.held_plans(s.primary.id()).await, "held_plans");
    let id = PlanId::digest(b"plan");
    assert_corrupt(store.release_plan(&id).await, "held_plans");
    let stored: i64 = {
        let conn = raw(&db_path(&_dir));
        conn.query_row("SELECT count(*) FROM held_plans", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(stored, 1, "a corrupt plan is kept, not released");

    let (_dir, store, s) = corrupted("UPDATE leases SET until_ns = -5").await;
    assert_corrupt(
        store
            .acquire_lease(s.primary.id(), "worker-b", t(200), t(150))
            .await,
        "leases",
    );
}

// ---------------------------------------------------------------------------------------------
// Database-level guarantees

#[tokio::test]
async fn the_database_allows_at_most_one_primary() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let p = primary(&store).await;
    let second = store
        .create_integration(new_integration("second", DirectionKind::Inbound, t(1)))
        .await
        .unwrap();
    let out = store
        .create_integration(new_integration("out", DirectionKind::Outbound, t(1)))
        .await
        .unwrap();
    assert!(!second.is_primary());
    let conn = raw(&path);
    // Bypassing the rule: promote the secondary, or insert a second primary.
    let err = conn
        .execute(
            "UPDATE integrations SET role = 'primary' WHERE id = ?1",
            [second.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation),
        "{err}"
    );
    let err = conn
        .execute(
            "INSERT INTO integrations (id, seq, created_s, created_ns, direction, role, record) \
             SELECT ?1, 99, created_s, created_ns, 'inbound', 'primary', record \
             FROM integrations WHERE id = ?2",
            [IntegrationId::random().to_string(), p.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
    // An outbound primary is refused too (even with no other primary).
    conn.execute("DELETE FROM integrations WHERE role = 'primary'", [])
        .unwrap();
    let err = conn
        .execute(
            "UPDATE integrations SET role = 'primary' WHERE id = ?1",
            [out.id().to_string()],
        )
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    );
}

/// Creating the same `NewIntegration` twice never replaces the first (the rules do not check
/// for an existing id; the primary key refuses it). Only "an error, nothing changed" is
/// asserted: which variant it should be is for the contract to say.
#[tokio::test]
async fn creating_an_existing_integration_again_changes_nothing() {
    let store = SqliteStore::open_in_memory().unwrap();
    let new = new_integration("primary", DirectionKind::Inbound, t(0));
    let created = store.create_integration(new.clone()).await.unwrap();
    assert!(matches!(
        store.create_integration(new).await,
        Err(dirsync_store::Error::AlreadyExists { .. })
    ));
    assert_eq!(store.integrations().await.unwrap(), vec![created.clone()]);
    assert_eq!(
        store.primary().await.unwrap().map(|p| p.id()),
        Some(created.id())
    );
}

#[tokio::test]
async fn a_failed_apply_rolls_back_and_the_database_stays_sound() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let s = seed(&store).await;
    let id = s.primary.id();
    let before = dump(&store, id).await;
    // Many valid writes of every kind, then one invalid operation at the end.
    let mut changes = DirectoryChanges::new(&s.primary, Version(1));
    for i in 0..500 {
        changes.push(DirectoryOp::UpsertGroup(group(id, &format!("g{i}"))));
        changes.push(DirectoryOp::UpsertMembership(membership(
            id,
            &format!("g{i}"),
            "100",
            MemberKind::User,
            MemberRole::Member,
        )));
        changes.push(DirectoryOp::Profile(
            s.primary.profile_authority().create_user(
                UserId::random(),
                UserProfile::new(email(&format!("u{i}@example.com"))),
                t(2),
                None,
            ),
        ));
    }
    changes.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    changes.push(create_user(&s.primary, UserId::random(), "ADA@example.com"));
    let err = store.apply(&changes).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidChange { index, .. } if index == changes.ops().len() - 1),
        "{err:?}"
    );
    assert_eq!(dump(&store, id).await, before, "nothing of it was written");
    let conn = raw(&path);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    // The store keeps working.
    let mut ok = DirectoryChanges::new(&s.primary, Version(1));
    ok.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    assert_eq!(store.apply(&ok).await.unwrap().version, Version(2));
}

#[tokio::test]
async fn removing_a_group_cascades_its_nested_memberships_in_sql() {
    let store = SqliteStore::open_in_memory().unwrap();
    let s = seed(&store).await;
    let id = s.primary.id();
    let mut changes = DirectoryChanges::new(&s.primary, Version(1));
    changes.push(DirectoryOp::RemoveGroup {
        external_id: xid("eng"),
    });
    store.apply(&changes).await.unwrap();
    let view = store.view(id).await.unwrap();
    let keys: Vec<MembershipKey> = view.memberships.iter().map(Membership::key).collect();
    assert_eq!(
        keys,
        vec![
            MembershipKey {
                group: xid("all"),
                kind: MemberKind::User,
                member: xid("200")
            },
            MembershipKey {
                group: xid("all"),
                kind: MemberKind::Customer,
                member: xid("C01")
            },
        ]
    );
    let removed = store.remove_integration(id).await.unwrap_err();
    assert!(matches!(removed, Error::PrimaryOwnsData { .. }));
}

#[tokio::test]
async fn removing_an_integration_counts_exactly_and_keeps_runs() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let store = SqliteStore::open(&path).unwrap();
    primary(&store).await;
    let secondary = store
        .create_integration(new_integration("second", DirectionKind::Inbound, t(1)))
        .await
        .unwrap()
        .into_secondary_inbound()
        .unwrap();
    let id = secondary.id();
    let mut changes = DirectoryChanges::new(&secondary, Version::ZERO);
    for g in ["a", "b", "c"] {
        changes.push(DirectoryOp::UpsertGroup(group(id, g)));
        for m in ["1", "2"] {
            changes.push(DirectoryOp::UpsertMembership(membership(
                id,
                g,
                m,
                MemberKind::User,
                MemberRole::Member,
            )));
        }
    }
    changes.push(DirectoryOp::UpsertAccount(account(
        id,
        "1",
        "x@example.com",
        None,
    )));
    changes.push(DirectoryOp::UpsertOrgUnit(org_unit(id, "o1", "/A", None)));
    changes.push(DirectoryOp::UpsertOrgUnit(org_unit(id, "o2", "/B", None)));
    store.apply(&changes).await.unwrap();
    store.hold_plan(&held_plan(id, b"1", t(2))).await.unwrap();
    store.hold_plan(&held_plan(id, b"2", t(2))).await.unwrap();
    store.record_run(&run(id, t(2))).await.unwrap();
    store.acquire_lease(id, "w", t(9), t(1)).await.unwrap();
    let removed = store.remove_integration(id).await.unwrap();
    assert_eq!(
        removed,
        dirsync_store::Removed {
            accounts: 1,
            groups: 3,
            memberships: 6,
            org_units: 2,
            held_plans: 2,
            owned_memberships: 0,
            owned_groups: 0,
        }
    );
    assert_eq!(
        store.runs(id, 10).await.unwrap().len(),
        1,
        "runs are history"
    );
    let conn = raw(&path);
    for table in [
        "accounts",
        "groups",
        "memberships",
        "org_units",
        "held_plans",
        "leases",
        "versions",
    ] {
        let n: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE integration = ?1"),
                [id.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

// ---------------------------------------------------------------------------------------------
// Several stores (processes) on one file

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_serialize_their_writes() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let p = primary(&*a).await;
    let id = p.id();
    // Both race to apply on version 0: exactly one wins, the other gets Conflict.
    let mut tasks = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        changes.push(DirectoryOp::UpsertGroup(group(id, &format!("g{n}"))));
        tasks.push(tokio::spawn(async move { store.apply(&changes).await }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(applied) => {
                wins += 1;
                assert_eq!(applied.version, Version(1));
            }
            Err(Error::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    // Each sees the other's writes.
    assert_eq!(b.view(id).await.unwrap().groups.len(), 1);
    assert_eq!(b.primary().await.unwrap().map(|p| p.id()), Some(id));
    // Leases exclude across stores.
    a.acquire_lease(id, "a", t(10), t(0)).await.unwrap();
    assert!(matches!(
        b.acquire_lease(id, "b", t(10), t(1)).await,
        Err(Error::Leased { .. })
    ));
}

/// Reads answer while a write transaction is open: they run on the read connections (WAL), not
/// behind the writer. The write is held open by the store's test hook, so this does not depend
/// on timing: with one connection for everything, the reads would wait for the write (the
/// timeout turns that wait into a failure instead of a hang).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_while_an_apply_holds_the_write_lock() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(db_path(&dir)).unwrap());
    let seeded = seed(&*store).await;
    let id = seeded.primary.id();
    let version = store.version(id).await.unwrap();
    let before = store.view(id).await.unwrap();

    let mut paused = store.pause_next_write().unwrap();
    let mut changes = DirectoryChanges::new(&seeded.primary, version);
    changes.push(DirectoryOp::UpsertGroup(group(id, "during")));
    let writer = Arc::clone(&store);
    let apply = tokio::spawn(async move { writer.apply(&changes).await });
    paused.begun().await.unwrap();

    let reads = async {
        (
            store.view(id).await.unwrap(),
            store.users().await.unwrap(),
            store.integration(id).await.unwrap(),
        )
    };
    let (view, users, _) = tokio::time::timeout(std::time::Duration::from_secs(60), reads)
        .await
        .expect("reads waited behind the open write transaction");
    // They saw the last committed state, not the write in progress.
    assert_eq!(view, before);
    assert_eq!(users.len(), before.users.len());

    paused.resume();
    let applied = apply.await.unwrap().unwrap();
    assert_eq!(applied.version, version.next());
    assert!(
        store
            .view(id)
            .await
            .unwrap()
            .groups
            .iter()
            .any(|g| g.external_id.as_str() == "during")
    );
}

// ---------------------------------------------------------------------------------------------
// Parity with the reference backend

/// The same operations on an `InMemoryStore` and a `SqliteStore` give the same answers,
/// orderings included: remote ids that sort differently by bytes than by case or length,
/// every member kind, runs and plans at equal instants, integrations created at one instant.
#[tokio::test]
async fn answers_and_orderings_match_the_in_memory_store() {
    let memory: Arc<dyn Store> = Arc::new(InMemoryStore::new());
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let stores = [memory, sqlite];

    let news = [
        new_integration("out", DirectionKind::Outbound, t(5)),
        new_integration("primary", DirectionKind::Inbound, t(5)),
        new_integration("early", DirectionKind::Inbound, t(1)),
        new_integration(
            "late",
            DirectionKind::Inbound,
            t(5) + Duration::nanoseconds(1),
        ),
        new_integration("same", DirectionKind::Inbound, t(5)),
    ];
    let users: Vec<UserId> = (0..20).map(|_| UserId::random()).collect();
    let run_ids: Vec<RunId> = (0..5).map(|_| RunId::random()).collect();
    let ids = [
        "b", "B", "a", "a1", "aa", "10", "9", "Ω", "é", "z-", "z_", "Z", " x",
    ];

    let mut answers = Vec::new();
    for store in &stores {
        let mut created = Vec::new();
        for new in &news {
            created.push(store.create_integration(new.clone()).await.unwrap());
        }
        let p = store.primary().await.unwrap().unwrap();
        let second = created[2].clone().into_secondary_inbound().unwrap();
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        for (i, user) in users.iter().enumerate() {
            changes.push(create_user(&p, *user, &format!("user{i}@Example.com")));
        }
        for (i, ext) in ids.iter().enumerate() {
            let user = users[i % users.len()];
            changes.push(DirectoryOp::UpsertAccount(account(
                p.id(),
                ext,
                &format!("a{i}@example.com"),
                Some((user, LinkedBy::Provisioned)),
            )));
            changes.push(DirectoryOp::UpsertGroup(group(p.id(), ext)));
            changes.push(DirectoryOp::UpsertOrgUnit(org_unit(
                p.id(),
                ext,
                &format!("/U{i}"),
                None,
            )));
        }
        for g in &ids {
            for (j, m) in ids.iter().enumerate() {
                let kind = [MemberKind::Customer, MemberKind::Group, MemberKind::User][j % 3];
                let role = [MemberRole::Member, MemberRole::Owner, MemberRole::Manager][j % 3];
                changes.push(DirectoryOp::UpsertMembership(membership(
                    p.id(),
                    g,
                    m,
                    kind,
                    role,
                )));
            }
        }
        changes.push(DirectoryOp::RemoveGroup {
            external_id: xid("a1"),
        });
        changes.push(DirectoryOp::RemoveMembership(MembershipKey {
            group: xid("b"),
            kind: MemberKind::Customer,
            member: xid("b"),
        }));
        store.apply(&changes).await.unwrap();
        let mut linked = DirectoryChanges::new(&second, Version::ZERO);
        for (i, ext) in ids.iter().enumerate().take(5) {
            linked.push(DirectoryOp::UpsertAccount(account(
                second.id(),
                ext,
                &format!("s{i}@example.com"),
                Some((users[0], LinkedBy::Provisioned)),
            )));
        }
        store.apply(&linked).await.unwrap();

        for (i, hour) in [3, 1, 3, 2, 3].into_iter().enumerate() {
            let mut r = run(p.id(), t(hour));
            // The same run ids in both stores.
            r.id = run_ids[i];
            store.record_run(&r).await.unwrap();
        }
        for (i, hour) in [4, 2, 4, 4].into_iter().enumerate() {
            store
                .hold_plan(&held_plan(p.id(), &[u8::try_from(i).unwrap()], t(hour)))
                .await
                .unwrap();
        }
        let view = store.view(p.id()).await.unwrap();
        let integrations: Vec<IntegrationId> = store
            .integrations()
            .await
            .unwrap()
            .iter()
            .map(AnyIntegration::id)
            .collect();
        answers.push((
            integrations,
            view,
            store.view(second.id()).await.unwrap(),
            store.users().await.unwrap(),
            store.accounts_of(users[0]).await.unwrap(),
            store.runs(p.id(), 3).await.unwrap(),
            store.held_plans(p.id()).await.unwrap(),
            store.remove_integration(created[4].id()).await.unwrap(),
        ));
    }
    let (memory, sqlite) = (&answers[0], &answers[1]);
    assert_eq!(sqlite.0, memory.0, "integrations");
    assert_eq!(sqlite.1, memory.1, "primary's view");
    assert_eq!(sqlite.2, memory.2, "secondary's view");
    assert_eq!(sqlite.3, memory.3, "users");
    assert_eq!(sqlite.4, memory.4, "accounts_of");
    assert_eq!(sqlite.5, memory.5, "runs");
    assert_eq!(sqlite.6, memory.6, "held plans");
    assert_eq!(sqlite.7, memory.7, "removed");
    assert!(memory.1.memberships.len() > 100);
}

// ---------------------------------------------------------------------------------------------
// Bulk

/// A large apply in one transaction and its view, as a smoke test (not timed).
#[tokio::test]
async fn a_large_apply_round_trips() {
    let store = SqliteStore::open_in_memory().unwrap();
    let p = primary(&store).await;
    let id = p.id();
    let mut changes = DirectoryChanges::new(&p, Version::ZERO);
    for g in 0..50 {
        changes.push(DirectoryOp::UpsertGroup(group(id, &format!("g{g:03}"))));
        for m in 0..200 {
            changes.push(DirectoryOp::UpsertMembership(membership(
                id,
                &format!("g{g:03}"),
                &format!("{m:05}"),
                MemberKind::User,
                MemberRole::Member,
            )));
        }
    }
    let applied = store.apply(&changes).await.unwrap();
    assert_eq!(applied.ops, 50 * 201);
    let view = store.view(id).await.unwrap();
    assert_eq!(view.memberships.len(), 10_000);
    assert!(view.memberships.windows(2).all(|w| w[0].key() < w[1].key()));
}
