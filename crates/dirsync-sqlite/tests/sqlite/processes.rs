//! Several stores (processes) on one file.

use super::*;

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

/// A view is read on several read connections at once (memberships and accounts beside the
/// rest); WAL lets each see another commit, so the store compares the versions they read and
/// reads again when they differ. Here every apply adds one group, one membership in it and one
/// account, and views are read while the applies commit: each view must be one state (as many
/// of each as its version). A view mixing two commits would break the count; whether a read straddles a
/// commit is up to the scheduler, so this catches a missing check often, not always.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_read_while_applies_commit_is_one_state() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(SqliteStore::open(db_path(&dir)).unwrap());
    let p = primary(&*store).await;
    let id = p.id();
    const APPLIES: u64 = 40;
    let writer = {
        let (store, p) = (Arc::clone(&store), p.clone());
        tokio::spawn(async move {
            for n in 0..APPLIES {
                let name = format!("g{n}");
                let mut changes = DirectoryChanges::new(&p, Version(n));
                changes.push(DirectoryOp::UpsertGroup(group(id, &name)));
                changes.push(DirectoryOp::UpsertMembership(membership(
                    id,
                    &name,
                    "100",
                    MemberKind::User,
                    MemberRole::Member,
                )));
                let address = format!("user{n}@example.com");
                changes.push(DirectoryOp::UpsertAccount(account(
                    id, &name, &address, None,
                )));
                store.apply(&changes).await.unwrap();
            }
        })
    };
    let mut views = 0;
    loop {
        let done = writer.is_finished();
        let view = store.view(id).await.unwrap();
        let version = usize::try_from(view.version.0).unwrap();
        assert_eq!(
            (
                view.groups.len(),
                view.memberships.len(),
                view.accounts.len()
            ),
            (version, version, version),
            "view {views} mixes two states"
        );
        views += 1;
        if done {
            break;
        }
    }
    writer.await.unwrap();
    assert!(views > 1);
}
