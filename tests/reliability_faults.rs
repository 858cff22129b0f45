//! Reliability under faults, against the emulator and a SQLite store file (issue 8, points 1, 2
//! and 4): transient faults end in exactly the state of a clean run; permanent faults fail the
//! run with a precise reason and leave the store's logical content unchanged; two syncs of one
//! integration never interleave while syncs of different integrations run in parallel.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use directory_sync::core::{
    FetchProgress, IntegrationState, NoProgress, ObjectKind, RunOutcome, SyncRun, UserStatus,
};
use directory_sync::engine::{Error, Policy, sync_inbound};
use directory_sync::google::scopes as google_scopes;
use directory_sync::google::{GoogleConnector, RetryConfig};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::{LocalView, Store};
use dirsync_google_emulator::{RunningEmulator, TokenFault};
use support::*;

/// Runs `f` once, when the first page of `kind` arrives (a fault injected mid-run).
struct OnFirstPage<F: Fn() + Send + Sync> {
    kind: ObjectKind,
    fired: AtomicBool,
    f: F,
}

impl<F: Fn() + Send + Sync> OnFirstPage<F> {
    fn new(kind: ObjectKind, f: F) -> Self {
        Self {
            kind,
            fired: AtomicBool::new(false),
            f,
        }
    }
}

impl<F: Fn() + Send + Sync> FetchProgress for OnFirstPage<F> {
    fn page(&self, kind: ObjectKind, _items: usize) {
        if kind == self.kind && !self.fired.swap(true, Ordering::SeqCst) {
            (self.f)();
        }
    }
}

/// One sync of the file at `path` through `connector`, reporting to `progress`.
async fn sync_file(
    path: &Path,
    id: directory_sync::core::IntegrationId,
    connector: &GoogleConnector,
    progress: &dyn FetchProgress,
) -> Result<SyncRun, Error> {
    let store = SqliteStore::open(path).unwrap();
    let policy = Policy::default();
    let ctx = context(&store, &policy, "reliability-test", progress);
    sync_inbound(&ctx, connector, id, None).await
}

/// The integration's view and every directory user, read from the file.
async fn state(path: &Path, id: directory_sync::core::IntegrationId) -> LocalView {
    let store = SqliteStore::open(path).unwrap();
    store.view(id).await.unwrap()
}

/// Changes a tenant so that the next sync has work of every kind, deprovisioning included.
fn churn(emu: &RunningEmulator) {
    let tenant = emu.tenant();
    let live: Vec<_> = tenant
        .live_users()
        .filter(|u| !u.is_admin)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &live[..4] {
        emu.remove_user(email).unwrap();
    }
    for email in &live[4..7] {
        emu.suspend_user(email).unwrap();
    }
    emu.add_user(dirsync_google_emulator::NewUser::new(
        "newcomer@example.com",
        "New",
        "Comer",
    ))
    .unwrap();
    let group = tenant.groups()[1].email.clone();
    emu.add_member(
        &group,
        "newcomer@example.com",
        dirsync_google_emulator::Role::Member,
    )
    .unwrap();
    emu.add_group("fresh-group@example.com", "Fresh group")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_at_5_and_20_percent_end_in_exactly_the_state_of_a_clean_run() {
    let emu = emulator(81, 1_000).await;
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    let id = store_file(&base, &emu).await;
    let rates = [0.0, 0.05, 0.20];
    let files: Vec<PathBuf> = rates
        .iter()
        .map(|r| {
            let p = dir.path().join(format!("rate-{r}.db"));
            copy_store(&base, &p);
            p
        })
        .collect();
    let connector = connector(&emu).build().unwrap();
    // Round 1 is the initial sync; round 2 follows a churn of the tenant (deletions,
    // suspensions, a newcomer, a new group and membership).
    for round in 1..=2 {
        if round == 2 {
            churn(&emu);
        }
        for (rate, file) in rates.iter().zip(&files) {
            emu.set_error_rate(*rate);
            emu.reset_stats();
            let run = sync_file(file, id, &connector, &NoProgress).await.unwrap();
            assert_eq!(
                run.outcome,
                RunOutcome::Succeeded,
                "round {round}, rate {rate}"
            );
            let injected = emu.stats().errors_injected;
            let retries = run.fetch.as_ref().unwrap().retries;
            if *rate > 0.0 {
                assert!(injected > 0, "round {round}, rate {rate}: faults injected");
                assert!(
                    retries >= injected,
                    "round {round}, rate {rate}: every fault retried"
                );
            } else {
                assert_eq!(injected, 0);
            }
        }
        emu.set_error_rate(0.0);
        let clean = state(&files[0], id).await;
        assert!(clean.accounts.len() >= 1_000 && !clean.memberships.is_empty());
        for (rate, file) in rates.iter().zip(&files).skip(1) {
            let got = state(file, id).await;
            assert_eq!(got.version, clean.version, "round {round}, rate {rate}");
            assert_eq!(got.users, clean.users, "round {round}, rate {rate}: users");
            assert_eq!(got.accounts, clean.accounts, "round {round}, rate {rate}");
            assert_eq!(got.groups, clean.groups, "round {round}, rate {rate}");
            assert_eq!(
                got.memberships, clean.memberships,
                "round {round}, rate {rate}"
            );
            assert_eq!(got.org_units, clean.org_units, "round {round}, rate {rate}");
            // Everything but the run records is identical, row for row.
            assert_eq!(dump(file, &["runs"]), dump(&files[0], &["runs"]));
        }
        if round == 2 {
            assert!(
                clean
                    .users
                    .iter()
                    .any(|u| u.status == UserStatus::Deprovisioned),
                "the churn deprovisioned users"
            );
        }
    }
}

/// A synced store file whose tenant has changed since (so a successful run would write,
/// deprovisioning included), with the dump of its content taken now.
struct Synced {
    emu: RunningEmulator,
    _dir: tempfile::TempDir,
    path: PathBuf,
    id: directory_sync::core::IntegrationId,
}

async fn synced(seed: u64) -> Synced {
    let emu = emulator(seed, 800).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let id = store_file(&path, &emu).await;
    let run = sync_file(&path, id, &connector(&emu).build().unwrap(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    churn(&emu);
    Synced {
        emu,
        _dir: dir,
        path,
        id,
    }
}

fn failed_reason(run: &SyncRun) -> &str {
    match &run.outcome {
        RunOutcome::Failed { reason } => reason,
        other => panic!("expected a failed run, got {other:?}"),
    }
}

async fn integration_state(
    path: &Path,
    id: directory_sync::core::IntegrationId,
) -> IntegrationState {
    let store = SqliteStore::open(path).unwrap();
    store.integration(id).await.unwrap().state().clone()
}

async fn deprovisioned(path: &Path) -> usize {
    let store = SqliteStore::open(path).unwrap();
    store
        .users()
        .await
        .unwrap()
        .iter()
        .filter(|u| u.status == UserStatus::Deprovisioned)
        .count()
}

/// Tables a failed run may change: its run record, and (for a configuration error) the
/// integration's state.
const RUN_RECORDS: &[&str] = &["runs"];
const RUN_RECORDS_AND_STATE: &[&str] = &["runs", "integrations"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_always_fails_fails_the_run_and_changes_nothing() {
    let s = synced(82).await;
    let before = dump(&s.path, RUN_RECORDS);
    let gone = deprovisioned(&s.path).await;
    s.emu.fail_page("GET /admin/directory/v1/users", 1, 503);
    let connector = connector(&s.emu)
        .retry(RetryConfig::immediate(3))
        .build()
        .unwrap();
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    let reason = failed_reason(&run);
    assert!(
        reason.contains("GET /admin/directory/v1/users") && reason.contains("status 503"),
        "{reason}"
    );
    assert_eq!(dump(&s.path, RUN_RECORDS), before, "the store is unchanged");
    assert_eq!(deprovisioned(&s.path).await, gone, "nothing deprovisioned");
    assert_eq!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Active,
        "a failing page is not a configuration error"
    );
    // Once the page answers again, the next run converges.
    s.emu.clear_failing_pages();
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert!(deprovisioned(&s.path).await > gone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_mid_run_is_refreshed_and_the_run_succeeds() {
    let s = synced(83).await;
    let emu = &s.emu;
    let hook = OnFirstPage::new(ObjectKind::Memberships, || {
        assert!(emu.revoke_all_tokens() > 0);
    });
    let connector = connector(emu).build().unwrap();
    let run = sync_file(&s.path, s.id, &connector, &hook).await.unwrap();
    assert!(hook.fired.load(Ordering::SeqCst));
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert!(emu.stats().tokens_issued >= 4, "fresh tokens were fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_mid_run_fails_the_integration_until_it_is_reauthorized() {
    let s = synced(84).await;
    let emu = &s.emu;
    let before = dump(&s.path, RUN_RECORDS_AND_STATE);
    let gone = deprovisioned(&s.path).await;
    let admin = emu.admin_subject();
    // The Workspace admin removes the domain-wide delegation while the run is listing members:
    // issued tokens die and no new one is granted.
    let hook = OnFirstPage::new(ObjectKind::Memberships, || {
        emu.deny_subject(&admin);
        emu.revoke_all_tokens();
    });
    let connector = connector(emu).build().unwrap();
    let run = sync_file(&s.path, s.id, &connector, &hook).await.unwrap();
    let reason = failed_reason(&run);
    assert!(reason.starts_with("not authorized: "), "{reason}");
    assert!(reason.contains(&admin), "names the subject: {reason}");
    assert_eq!(dump(&s.path, RUN_RECORDS_AND_STATE), before);
    assert_eq!(deprovisioned(&s.path).await, gone, "nothing deprovisioned");
    assert!(
        matches!(integration_state(&s.path, s.id).await, IntegrationState::Failed { reason: r } if r == reason),
        "the integration is failed with the run's reason"
    );
    // It stays failed: no run starts, even once the grant is back, until it is reauthorized.
    emu.allow_subject(&admin);
    let err = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotActive { .. }), "{err:?}");
    assert_eq!(dump(&s.path, RUN_RECORDS_AND_STATE), before);
    let store = SqliteStore::open(&s.path).unwrap();
    reauthorize(&store, emu, s.id).await;
    drop(store);
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Active
    );
    assert!(deprovisioned(&s.path).await > gone);
}

/// Issue 12, point 1: the operator's outage. Google's token endpoint answers 503 (then an
/// HTML error page) for the length of one sync: the run fails saying the token endpoint is
/// unavailable, the integration stays active, nothing is written, and once the endpoint is
/// back the next run proceeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_outage_fails_the_run_not_the_integration() {
    let s = synced(87).await;
    let emu = &s.emu;
    let before = dump(&s.path, RUN_RECORDS);
    let gone = deprovisioned(&s.path).await;
    emu.set_token_fault_rate(1.0, TokenFault::Status(503));
    // Retries 1 ms apart within a budget of 200 ms: the outage outlasts the run's budget.
    let connector = connector(emu)
        .retry(RetryConfig::immediate(1_000).with_budget(Duration::from_millis(200)))
        .build()
        .unwrap();
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    let reason = failed_reason(&run);
    assert!(
        reason.contains("the token endpoint is unavailable") && reason.contains("503"),
        "{reason}"
    );
    assert!(!reason.contains("not authorized"), "{reason}");
    assert!(emu.stats().token_faults_injected > 1, "it was retried");
    assert_eq!(dump(&s.path, RUN_RECORDS), before, "the store is unchanged");
    assert_eq!(deprovisioned(&s.path).await, gone, "nothing deprovisioned");
    assert_eq!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Active,
        "weather is not a revoked grant"
    );
    // Still down, now with an HTML page: the next run fails the same way.
    emu.set_token_fault_rate(1.0, TokenFault::Html);
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    let reason = failed_reason(&run);
    assert!(
        reason.contains("the token endpoint is unavailable: answered 502"),
        "{reason}"
    );
    assert_eq!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Active
    );
    // The endpoint recovers: the next run proceeds, no reauthorization needed.
    emu.set_token_fault_rate(0.0, TokenFault::Html);
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert!(deprovisioned(&s.path).await > gone);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_withdrawn_mid_run_fails_the_integration_naming_the_scope() {
    let s = synced(85).await;
    let emu = &s.emu;
    let before = dump(&s.path, RUN_RECORDS_AND_STATE);
    let gone = deprovisioned(&s.path).await;
    let hook = OnFirstPage::new(ObjectKind::Memberships, || {
        emu.deny_scope(google_scopes::GROUP_READONLY);
        emu.revoke_all_tokens();
    });
    let connector = connector(emu).build().unwrap();
    let run = sync_file(&s.path, s.id, &connector, &hook).await.unwrap();
    let reason = failed_reason(&run);
    assert!(
        reason.starts_with("not authorized: ") && reason.contains(google_scopes::GROUP_READONLY),
        "{reason}"
    );
    assert_eq!(dump(&s.path, RUN_RECORDS_AND_STATE), before);
    assert_eq!(deprovisioned(&s.path).await, gone, "nothing deprovisioned");
    assert!(matches!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Failed { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_stopped_mid_run_fails_the_run_and_changes_nothing() {
    let Synced {
        emu,
        _dir,
        path,
        id,
    } = synced(86).await;
    let before = dump(&path, RUN_RECORDS);
    let gone = deprovisioned(&path).await;
    let connector = connector(&emu)
        .retry(RetryConfig::immediate(3))
        .build()
        .unwrap();
    let server = Mutex::new(Some(emu));
    let hook = OnFirstPage::new(ObjectKind::Memberships, || {
        // Dropping the handle stops the server: no new connection is accepted.
        drop(server.lock().unwrap().take());
    });
    let run = sync_file(&path, id, &connector, &hook).await.unwrap();
    assert!(server.lock().unwrap().is_none(), "the emulator was stopped");
    let reason = failed_reason(&run);
    assert!(reason.contains("connection"), "{reason}");
    assert_eq!(dump(&path, RUN_RECORDS), before);
    assert_eq!(deprovisioned(&path).await, gone, "nothing deprovisioned");
    assert_eq!(integration_state(&path, id).await, IntegrationState::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_slower_than_the_timeout_fail_the_run_and_change_nothing() {
    let s = synced(87).await;
    let before = dump(&s.path, RUN_RECORDS);
    let gone = deprovisioned(&s.path).await;
    let connector = connector(&s.emu)
        .request_timeout(Duration::from_millis(300))
        .retry(RetryConfig::immediate(2))
        .build()
        .unwrap();
    s.emu.set_latency(Duration::from_millis(800));
    let run = sync_file(&s.path, s.id, &connector, &NoProgress)
        .await
        .unwrap();
    let reason = failed_reason(&run);
    assert!(reason.contains("timeout"), "{reason}");
    assert_eq!(dump(&s.path, RUN_RECORDS), before);
    assert_eq!(deprovisioned(&s.path).await, gone, "nothing deprovisioned");
    assert_eq!(
        integration_state(&s.path, s.id).await,
        IntegrationState::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_of_one_integration_started_at_once_never_interleave() {
    let emu = emulator(88, 400).await;
    emu.set_latency(Duration::from_millis(10));
    let dir = tempfile::tempdir().unwrap();
    let (path, clean) = (dir.path().join("a.db"), dir.path().join("clean.db"));
    let id = store_file(&path, &emu).await;
    copy_store(&path, &clean);
    let connector = connector(&emu).build().unwrap();
    let policy = Policy::default();
    // Two workers (two store handles on one file, as two processes would have), and twice the
    // same worker name (two tasks of one process).
    for (a, b) in [("worker-a", "worker-b"), ("worker", "worker")] {
        let (one, two) = (
            SqliteStore::open(&path).unwrap(),
            SqliteStore::open(&path).unwrap(),
        );
        let (c1, c2) = (
            context(&one, &policy, a, &NoProgress),
            context(&two, &policy, b, &NoProgress),
        );
        let (r1, r2) = tokio::join!(
            sync_inbound(&c1, &connector, id, None),
            sync_inbound(&c2, &connector, id, None)
        );
        let (ran, refused) = match (r1, r2) {
            (Ok(run), Err(e)) | (Err(e), Ok(run)) => (run, e),
            other => panic!("exactly one run must be refused ({a}, {b}): {other:?}"),
        };
        assert!(
            matches!(ran.outcome, RunOutcome::Succeeded | RunOutcome::NoChange),
            "{ran:?}"
        );
        assert!(
            matches!(
                refused,
                Error::Store(directory_sync::store::Error::Leased { .. })
            ),
            "{refused:?}"
        );
        let message = refused.to_string();
        assert!(message.contains("lease"), "a clear error: {message}");
        // Only the run that ran is recorded.
        assert_eq!(one.runs(id, 10).await.unwrap()[0].id, ran.id);
    }
    // The result is the state of one clean run.
    let run = sync_file(&clean, id, &connector, &NoProgress)
        .await
        .unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded);
    assert_eq!(state(&path, id).await, state(&clean, id).await);
    assert_eq!(dump(&path, &["runs"]), dump(&clean, &["runs"]));
}

/// Logs which fetch each page belonged to, in the order the pages arrived (a logical order,
/// not a clock reading).
struct Span {
    name: char,
    log: Arc<Mutex<Vec<char>>>,
}

impl FetchProgress for Span {
    fn page(&self, _kind: ObjectKind, _items: usize) {
        self.log.lock().unwrap().push(self.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_of_different_integrations_run_in_parallel() {
    let (first, second) = (emulator(89, 300).await, emulator(90, 300).await);
    for emu in [&first, &second] {
        emu.set_latency(Duration::from_millis(10));
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("two.db")).unwrap());
    let a = active_integration(&*store, &first).await;
    let b = active_integration(&*store, &second).await;
    let (ca, cb) = (
        connector(&first).build().unwrap(),
        connector(&second).build().unwrap(),
    );
    let policy = Policy::default();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sa, sb) = (
        Span {
            name: 'a',
            log: Arc::clone(&log),
        },
        Span {
            name: 'b',
            log: Arc::clone(&log),
        },
    );
    // One process, one worker name, one store handle: leases are per integration.
    let (c1, c2) = (
        context(&*store, &policy, "worker", &sa),
        context(&*store, &policy, "worker", &sb),
    );
    let (r1, r2) = tokio::join!(
        sync_inbound(&c1, &ca, a, None),
        sync_inbound(&c2, &cb, b, None)
    );
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.outcome, RunOutcome::Succeeded, "{r1:?}");
    assert!(
        matches!(r2.outcome, RunOutcome::Succeeded | RunOutcome::NoChange),
        "{r2:?}"
    );
    // The fetches interleaved: each had a page between two pages of the other.
    let log: String = log.lock().unwrap().iter().collect();
    let span = |c: char| (log.find(c).unwrap(), log.rfind(c).unwrap());
    let ((a0, a1), (b0, b1)) = (span('a'), span('b'));
    assert!(a0 < b1 && b0 < a1, "the two fetches overlapped: {log}");
    assert_eq!(store.view(a).await.unwrap().accounts.len(), 300);
}
