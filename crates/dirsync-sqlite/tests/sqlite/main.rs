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

mod corrupt;
mod guarantees;
mod parity;
mod persistence;
mod processes;
