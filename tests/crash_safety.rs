//! Crash safety of an apply at the library level (issue 8, point 3 — the `dirsync` command
//! line gets its own test): a child process (this test binary, re-run in child mode) applies a
//! large plan to a SQLite file and is killed with SIGKILL at a random instant of the apply,
//! many times. After each kill the file opens, passes `PRAGMA integrity_check`, holds exactly
//! the old or exactly the new state (every row of every table compared), and planning and
//! applying again converges to the new state.
//!
//! `CRASH_ITERATIONS` (default 4), `CRASH_USERS` (default 3000), `CRASH_SEED` (default: the
//! clock; printed) tune it. Runs without libtest (`harness = false`): its `main` is the test.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use directory_sync::core::{
    AnyIntegration, Email, ExternalId, Member, MemberKind, MemberRole, ObjectKinds, OrgUnitPath,
    PersonName, RemoteGroup, RemoteMember, RemoteUser, ScopeFilter, Snapshot, SnapshotBuilder,
};
use directory_sync::engine::{Grace, Policy, Safeguards, Threshold, plan_inbound};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::{LocalView, Store};
use support::{dump, fixed_now};

const CHILD: &str = "CRASH_SAFETY_CHILD_DB";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A directory of `users` users, `users / 20` groups and three memberships a user; `round` 1
/// is the old state, 2 the new: a fifth of the users renamed and moved, a tenth gone, a tenth
/// new, memberships reshuffled.
fn snapshot(users: u64, round: u64) -> Snapshot {
    let mut b = SnapshotBuilder::new(ObjectKinds::all(), ScopeFilter::everything(), fixed_now());
    b.org_units(Vec::new()).unwrap();
    let live: Vec<u64> = if round == 1 {
        (0..users).collect()
    } else {
        (users / 10..users + users / 10).collect()
    };
    let remote: Vec<RemoteUser> = live
        .iter()
        .map(|&i| {
            let renamed = round == 2 && i % 5 == 0;
            let email = if renamed {
                format!("user{i}.renamed@example.com")
            } else {
                format!("user{i}@example.com")
            };
            let mut u = RemoteUser::new(
                ExternalId::new(format!("{}", 100_000 + i)).unwrap(),
                Email::new(email).unwrap(),
            );
            u.name = PersonName {
                given: format!("User{i}"),
                family: if renamed { "Renamed" } else { "Person" }.into(),
                display: format!("User {i}"),
            };
            u.org_unit = Some(OrgUnitPath::new(format!("/Unit{}", (i + round) % 7)).unwrap());
            u
        })
        .collect();
    for (n, chunk) in remote.chunks(500).enumerate() {
        let next = (n + 1) * 500 < remote.len();
        let token = format!("p{n}");
        b.users_page(chunk.to_vec(), next.then_some(token.as_str()))
            .unwrap();
    }
    b.deleted_users_page(Vec::new(), None).unwrap();
    let groups: Vec<RemoteGroup> = (0..users / 20)
        .map(|g| RemoteGroup {
            external_id: ExternalId::new(format!("g{g}")).unwrap(),
            email: Email::new(format!("group{g}@example.com")).unwrap(),
            name: format!("Group {g}"),
            description: String::new(),
            direct_members_count: None,
        })
        .collect();
    b.groups_page(groups.clone(), None).unwrap();
    let mut members: BTreeMap<u64, Vec<RemoteMember>> = BTreeMap::new();
    for &i in &live {
        for k in 0..3 {
            let g = (i * 7 + k * 13 + round * (k + 1)) % (users / 20);
            members.entry(g).or_default().push(RemoteMember {
                group: ExternalId::new(format!("g{g}")).unwrap(),
                member: Member {
                    kind: MemberKind::User,
                    external_id: ExternalId::new(format!("{}", 100_000 + i)).unwrap(),
                    email: None,
                },
                role: MemberRole::Member,
            });
        }
    }
    for g in &groups {
        let mut list = members.remove(&g_index(g)).unwrap_or_default();
        list.sort_by(|a, b| a.member.external_id.cmp(&b.member.external_id));
        list.dedup_by(|a, b| a.member.external_id == b.member.external_id);
        b.members_page(&g.external_id, list, None).unwrap();
    }
    b.finish().unwrap()
}

fn g_index(g: &RemoteGroup) -> u64 {
    g.external_id.as_str()[1..].parse().unwrap()
}

/// No safeguards and no grace: the plan applies at once, whatever it deprovisions.
fn policy() -> Policy {
    let off = Threshold::new(u64::MAX, 100.0, u64::MAX);
    Policy::default()
        .with_safeguards(
            Safeguards::default()
                .with_users(off)
                .with_groups(off)
                .with_memberships(off)
                .with_remote_members(off),
        )
        .with_grace(Grace::new(0, 0))
}

/// Plans `round` against the store and applies it; returns how long the apply took.
async fn sync(store: &SqliteStore, users: u64, round: u64, announce: bool) -> Duration {
    let integration: AnyIntegration = store.integrations().await.unwrap().remove(0);
    let view = store.view(integration.id()).await.unwrap();
    let plan = plan_inbound(
        &integration,
        &snapshot(users, round),
        &view,
        &policy(),
        fixed_now(),
    )
    .unwrap();
    assert!(!plan.is_held());
    if announce {
        let mut out = std::io::stdout();
        writeln!(out, "applying {} changes", plan.changes().ops().len()).unwrap();
        out.flush().unwrap();
    }
    let started = Instant::now();
    store.apply(plan.changes()).await.unwrap();
    started.elapsed()
}

async fn view(path: &Path) -> LocalView {
    let store = SqliteStore::open(path).unwrap();
    let id = store.integrations().await.unwrap()[0].id();
    store.view(id).await.unwrap()
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// The child: applies round 2 to the file, announcing the start of the apply on stdout.
async fn child(path: PathBuf, users: u64) {
    let store = SqliteStore::open(&path).unwrap();
    sync(&store, users, 2, true).await;
    println!("applied");
}

async fn parent(users: u64) {
    let iterations = env("CRASH_ITERATIONS", 4);
    let mut seed = env(
        "CRASH_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    println!("crash_safety: {iterations} iterations, {users} users, CRASH_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    // The old state: the integration and round 1 applied; the new: round 2 on top.
    let old = dir.path().join("old.db");
    let emu = support::emulator(1, 1).await;
    support::store_file(&old, &emu).await;
    drop(emu);
    let store = SqliteStore::open(&old).unwrap();
    sync(&store, users, 1, false).await;
    drop(store);
    let new = dir.path().join("new.db");
    support::copy_store(&old, &new);
    let store = SqliteStore::open(&new).unwrap();
    let apply_time = sync(&store, users, 2, false).await;
    drop(store);
    let (old_rows, new_rows) = (dump(&old, &[]), dump(&new, &[]));
    let (old_view, new_view) = (view(&old).await, view(&new).await);
    assert_ne!(old_rows, new_rows);
    let changed: usize = new_rows.values().map(Vec::len).sum();
    println!("crash_safety: the reference apply took {apply_time:?} ({changed} rows after)");

    let exe = std::env::current_exe().unwrap();
    let (mut saw_old, mut saw_new, mut killed, mut torn) = (0, 0, 0, 0);
    for i in 0..iterations {
        let path = dir.path().join(format!("crash-{i}.db"));
        support::copy_store(&old, &path);
        let mut child = Command::new(&exe)
            .env(CHILD, &path)
            .env("CRASH_USERS", users.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.starts_with("applying"), "{first}");
        // xorshift: a kill instant within the first three quarters of the reference apply
        // time (the child applies a little faster than the reference, which shares its
        // process with the checks).
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let window = apply_time.as_micros() as u64 * 3 / 4 + 1;
        let delay = Duration::from_micros(seed % window);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        // Killed by the signal, or it had finished just before.
        if status.code().is_none() {
            killed += 1;
        }

        // What the kill left in the write-ahead log (uncommitted frames when it hit the
        // transaction), before anything opens the file and recovers it.
        let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
        assert_eq!(integrity(&path), "ok", "iteration {i}: integrity_check");
        let rows = dump(&path, &[]);
        let state = if rows == old_rows {
            assert_eq!(view(&path).await, old_view);
            saw_old += 1;
            if wal > 0 {
                torn += 1;
            }
            "old"
        } else if rows == new_rows {
            assert_eq!(view(&path).await, new_view);
            saw_new += 1;
            "new"
        } else {
            panic!("iteration {i}: killed after {delay:?}, the file holds neither state");
        };
        // A rerun converges to the new state.
        let store = SqliteStore::open(&path).unwrap();
        sync(&store, users, 2, false).await;
        drop(store);
        assert_eq!(
            dump(&path, &[]),
            new_rows,
            "iteration {i}: the rerun converges"
        );
        println!(
            "crash_safety: iteration {i}: killed after {delay:?} ({status}, WAL {wal} bytes), found the {state} state, rerun converged"
        );
    }
    // Every kill waited for the child's "applying": one that killed it (rather than finding it
    // finished) landed inside the apply.
    assert!(
        iterations == 0 || killed > 0,
        "no kill landed during an apply: {killed} of {iterations}"
    );
    println!(
        "crash_safety: ok: {killed} of {iterations} killed mid-apply ({torn} with uncommitted writes in the WAL); found {saw_old} old, {saw_new} new, 0 other"
    );
}

fn main() {
    let users = env("CRASH_USERS", 3_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    match std::env::var_os(CHILD) {
        Some(path) => rt.block_on(child(PathBuf::from(path), users)),
        None => rt.block_on(parent(users)),
    }
}
