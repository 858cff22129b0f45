//! Every test of dirsync-postgres (one test binary): the shared conformance suite, one test per
//! case, each on its own schema of one server (see `cluster`), then what only PostgreSQL shows.

// Test code, helpers included: asserting (unwrapping, panicking) is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsync_postgres::testing as cluster;

mod conformance {
    dirsync_store::conformance_tests!(dirsync_postgres::testing::fresh_store);
}

#[path = "postgres/tenants.rs"]
mod tenants;

use std::sync::Arc;

use dirsync_core::{DirectionKind, DirectoryChanges, DirectoryOp, Version};
use dirsync_postgres::PostgresStore;
use dirsync_store::conformance::fixtures::{group, new_integration, t};
use dirsync_store::{Error, Store};

/// Two stores on one database (two workers): of racing creations one primary is elected, of
/// racing applies on one version one wins, and a lease taken by one excludes the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_share_its_rules() {
    let Some((a, schema)) = cluster::fresh_store().await else {
        return;
    };
    let url = cluster::in_schema(cluster::url().unwrap(), &schema);
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let mut creations = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        creations.push(tokio::spawn(async move {
            store
                .create_integration(new_integration("in", DirectionKind::Inbound, t(0)))
                .await
        }));
    }
    let mut primaries = 0;
    for task in creations {
        primaries += usize::from(task.await.unwrap().unwrap().is_primary());
    }
    assert_eq!(primaries, 1);
    let p = b.primary().await.unwrap().unwrap();
    let mut applies = Vec::new();
    for n in 0..8 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        let mut changes = DirectoryChanges::new(&p, Version::ZERO);
        changes.push(DirectoryOp::UpsertGroup(group(p.id(), &format!("g{n}"))));
        applies.push(tokio::spawn(async move { store.apply(&changes).await }));
    }
    let mut wins = 0;
    for task in applies {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(Error::Conflict { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(a.view(p.id()).await.unwrap().groups.len(), 1);
    a.acquire_lease(p.id(), "a", t(10), t(0)).await.unwrap();
    assert!(matches!(
        b.acquire_lease(p.id(), "b", t(10), t(1)).await,
        Err(Error::Leased { .. })
    ));
}

/// A password in the URL appears in no error and no `Debug`.
#[tokio::test]
async fn the_password_of_the_url_is_never_shown() {
    // Port 1 on 127.0.0.1: nothing listens, the connection is refused.
    let err = PostgresStore::connect("postgres://dirsync:hunter2-secret@127.0.0.1:1/dirsync")
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(matches!(err, Error::Unavailable { .. }));
    let Some((store, _schema)) = cluster::fresh_store().await else {
        return;
    };
    assert!(!format!("{store:?}").contains("password"));
}
