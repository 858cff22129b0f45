//! Corrupt rows: a row the store did not write as it reads is `Corrupt`, never a panic.

use super::*;

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
