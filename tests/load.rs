//! Load (issue 8, point 7): many tenants synced concurrently in one process. Each tenant is
//! its own emulator on 127.0.0.1 (one Workspace customer each) synced into its own SQLite file
//! by its own connector, all at once on a 2-thread runtime. Every sync finishes with the
//! tenant's exact content, the runs overlap (no tenant waits for the others to finish: fair
//! progress), every request the connectors sent was served by the emulators (nothing left
//! 127.0.0.1). The process's peak memory and the wall times are printed as figures (memory
//! and time are measured, never asserted: see BENCHMARKS.md).
//!
//! `LOAD_TENANTS` (default 50) and `LOAD_USERS` (default 100) scale it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use directory_sync::core::{FetchProgress, ObjectKind, RunOutcome};
use directory_sync::engine::{Policy, sync_inbound};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use support::*;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A line of `/proc/self/status` in KiB (`VmHWM`: peak resident set; `VmRSS`: now), as text:
/// "unknown (no /proc)" where there is none.
fn status_kib(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)?
                    .trim()
                    .strip_suffix("kB")
                    .map(|v| format!("{} KiB", v.trim()))
            })
        })
        .unwrap_or_else(|| "unknown (no /proc)".to_owned())
}

/// How many runs had finished when a run received its first page (a logical order, not a
/// clock reading).
struct FirstPage {
    finished: Arc<AtomicUsize>,
    seen: Mutex<Option<usize>>,
}

impl FetchProgress for FirstPage {
    fn page(&self, _kind: ObjectKind, _items: usize) {
        self.seen
            .lock()
            .unwrap()
            .get_or_insert_with(|| self.finished.load(Ordering::SeqCst));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tenants_sync_concurrently_with_fair_progress() {
    let (tenants, users) = (env("LOAD_TENANTS", 50), env("LOAD_USERS", 100));
    let rss_before = status_kib("VmRSS:");
    let dir = tempfile::tempdir().unwrap();
    let mut emulators = Vec::new();
    for i in 0..tenants {
        let emu = emulator(1_000 + i as u64, users).await;
        // A little latency, as a real API has: runs are IO-bound and must interleave.
        emu.set_latency(Duration::from_millis(5));
        assert!(emu.base_url().starts_with("http://127.0.0.1:"));
        assert!(emu.token_uri().starts_with("http://127.0.0.1:"));
        emulators.push(Arc::new(emu));
    }
    let started = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    // Every tenant's store and integration are set up before any run starts: the runs, not
    // the set-ups (a blocking SQLite open and migration each), are what must interleave.
    let ready = Arc::new(tokio::sync::Barrier::new(emulators.len()));
    let mut tasks = Vec::new();
    for (i, emu) in emulators.iter().enumerate() {
        let path = dir.path().join(format!("tenant-{i}.db"));
        let emu = Arc::clone(emu);
        let (finished, ready) = (Arc::clone(&finished), Arc::clone(&ready));
        tasks.push(tokio::spawn(async move {
            let store = SqliteStore::open(&path).unwrap();
            let id = active_integration(&store, &emu).await;
            let connector = connector(&emu).concurrency(4).build().unwrap();
            let policy = Policy::default();
            ready.wait().await;
            let progress = FirstPage {
                finished: Arc::clone(&finished),
                seen: Mutex::new(None),
            };
            let ctx = context(&store, &policy, "load-test", &progress);
            let begun = Instant::now();
            let run = sync_inbound(&ctx, &connector, id, None).await.unwrap();
            finished.fetch_add(1, Ordering::SeqCst);
            let first_page = progress.seen.lock().unwrap().unwrap();
            let accounts = store.view(id).await.unwrap().accounts.len();
            (run, begun, first_page, Instant::now(), accounts)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let elapsed = started.elapsed();

    // All finish, each with its tenant's exact user count.
    for ((run, _, _, _, accounts), emu) in results.iter().zip(&emulators) {
        assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
        assert_eq!(*accounts, emu.tenant().live_users().count());
    }
    // Fair progress: every run got its first page before the first run finished, so no
    // tenant waited for others to complete.
    let finished_before_first_page: Vec<usize> = results.iter().map(|r| r.2).collect();
    assert!(
        finished_before_first_page.iter().all(|&n| n == 0),
        "every tenant made progress before any finished: {finished_before_first_page:?}"
    );
    // Nothing beyond 127.0.0.1: every API request a connector counted reached an emulator.
    let sent: u64 = results
        .iter()
        .map(|r| r.0.fetch.as_ref().unwrap().total_requests())
        .sum();
    let served: u64 = emulators
        .iter()
        .map(|e| {
            let s = e.stats();
            s.requests_total - s.requests("POST /token")
        })
        .sum();
    assert_eq!(sent, served, "every request was served on 127.0.0.1");
    // Memory is a figure, not an assertion: the peak resident set of the whole process
    // (emulators included), where /proc exists.
    let peak = status_kib("VmHWM:");
    let durations: Vec<Duration> = results.iter().map(|r| r.3 - r.1).collect();
    let slowest = durations.iter().max().unwrap();
    let fastest = durations.iter().min().unwrap();
    eprintln!(
        "load: {tenants} tenants x {users} users, {sent} requests in {elapsed:?}; \
         run durations {fastest:?}..{slowest:?}; RSS before {rss_before}, peak {peak}"
    );
}
