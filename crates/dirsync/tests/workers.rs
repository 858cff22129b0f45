//! Many workers on one database (issue 14, point 4), as operators run them: three
//! `dirsync scheduler:work --all-tenants` processes share the due rules of 30 tenants of one
//! PostgreSQL database, each tenant reading an emulated Google Workspace. One worker is killed
//! with SIGKILL while it holds a run's lease. Every due rule runs exactly once — none twice,
//! none lost: the dead worker's rule runs on another worker once its lease expires.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use dirsync_core::{DirectionKind, Email, Interval, KeyOwnership, Schedule};
use dirsync_google::{GoogleSettings, KeyReference};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_postgres::PostgresStore;
use dirsync_postgres::testing as cluster;
use dirsync_service::{CreateGoogle, Registry, Service, Silent};
use dirsync_store::Store;
use serde_json::Value;

const TENANTS: usize = 30;

/// A lease's time to live, in seconds: a dead worker's rule runs again after at most this long.
const LEASE_SECONDS: &str = "2";

/// A tenant with an active Google integration whose hourly rule (the one it is created with)
/// was created three hours ago: due now, once.
async fn tenant(base: &PostgresStore, name: &str, google: &RunningEmulator, key: &Path) {
    let store = Arc::new(base.tenant(name).await.unwrap());
    let past = Utc::now() - chrono::Duration::hours(3);
    let service = Service::new(store, Registry::builtin()).with_clock(Arc::new(move || past));
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject()).unwrap(),
        KeyReference::File(key.to_path_buf()),
        KeyOwnership::ProviderManaged,
    );
    settings.api_base = Some(google.base_url());
    settings.quota_per_minute = 0;
    let created = service
        .create_google(CreateGoogle::new(
            "Google",
            DirectionKind::Inbound,
            settings,
            Schedule::every(Interval::from_minutes(60).unwrap()),
        ))
        .await
        .unwrap();
    assert_eq!(created.integration.record().rules.len(), 1);
    service
        .activate(created.integration.id(), &Silent)
        .await
        .unwrap();
}

/// A worker process over every tenant of `url`; its stdout and stderr go to files in `dir`.
fn worker(url: &str, dir: &Path, n: usize) -> Child {
    let out = std::fs::File::create(dir.join(format!("worker-{n}.out"))).unwrap();
    let err = std::fs::File::create(dir.join(format!("worker-{n}.err"))).unwrap();
    Command::new(support::dirsync_binary())
        .env("DIRSYNC_LEASE_SECONDS", LEASE_SECONDS)
        .env("RUST_LOG", "info")
        .args(["--json", "--db", url, "scheduler:work", "--all-tenants"])
        .args(["--tick-seconds", "1", "--shutdown-timeout-seconds", "30"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// The tenants whose lease the process `holder` (`directory-sync:<pid>`) holds (rows stay after a holder dies, until taken over).
async fn leased_by(url: &str, names: &[String], holder: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let task = tokio::spawn(connection);
    let union = names
        .iter()
        .map(|n| {
            format!("SELECT '{n}' AS tenant FROM dirsync_tenant_{n}.leases WHERE holder LIKE $1")
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // A run's holder is the process's, then `#` and the run's own id.
    let pattern = format!("{holder}#%");
    let rows = client.query(&union, &[&pattern]).await.unwrap();
    drop(client);
    let _ = task.await;
    rows.iter().map(|r| r.get::<_, String>(0)).collect()
}

/// The scheduled runs recorded in each tenant.
async fn scheduled_runs(base: &PostgresStore, names: &[String]) -> Vec<usize> {
    let mut counts = Vec::new();
    for name in names {
        let store = base.tenant(name).await.unwrap();
        let id = store.integrations().await.unwrap()[0].id();
        let runs = store.runs(id, 100).await.unwrap();
        counts.push(runs.iter().filter(|r| r.rule.is_some()).count());
    }
    counts
}

/// Asks a worker to stop (SIGTERM) and returns its final JSON.
fn stop(mut child: Child, dir: &Path, n: usize) -> Value {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(dir.join(format!("worker-{n}.err"))).unwrap();
    assert!(status.success(), "worker {n} failed: {stderr}");
    let stdout = std::fs::read_to_string(dir.join(format!("worker-{n}.out"))).unwrap();
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("worker {n}: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_worker_processes_one_killed_run_every_due_rule_exactly_once() {
    let Some(url) = cluster::fresh_database_url().await else {
        return;
    };
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(7, 20)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let base = PostgresStore::connect(&url).await.unwrap();
    let names: Vec<String> = (0..TENANTS).map(|i| format!("customer{i:02}")).collect();
    for name in &names {
        tenant(&base, name, &google, &key).await;
    }
    assert_eq!(scheduled_runs(&base, &names).await, vec![0; TENANTS]);
    // Slow answers, so that a run holds its lease long enough to be killed in.
    google.set_latency(Duration::from_millis(50));

    let victim = worker(&url, dir.path(), 0);
    let holder = format!("directory-sync:{}", victim.id());
    let survivors = [worker(&url, dir.path(), 1), worker(&url, dir.path(), 2)];

    // Kill the victim while it runs a rule (holds a lease).
    let mut victim = victim;
    let started = Instant::now();
    let died_in = loop {
        let held = leased_by(&url, &names, &holder).await;
        if let [tenant] = held.as_slice() {
            victim.kill().unwrap();
            victim.wait().unwrap();
            break tenant.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the victim never ran a rule: {}",
            std::fs::read_to_string(dir.path().join("worker-0.err")).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let dead = names.iter().position(|n| *n == died_in).unwrap();
    assert_eq!(
        leased_by(&url, &names, &holder).await,
        vec![died_in.clone()],
        "the dead worker's lease outlives it"
    );

    // Wait until every tenant has its run (bounded: a lost rule fails the test).
    let mut counts = scheduled_runs(&base, &names).await;
    while counts.contains(&0) && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        counts = scheduled_runs(&base, &names).await;
    }
    // More rounds of the survivors over every tenant: nothing may run a second time.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let [one, two] = survivors;
    let outputs = [stop(one, dir.path(), 1), stop(two, dir.path(), 2)];

    let counts = scheduled_runs(&base, &names).await;
    assert_eq!(counts, vec![1; TENANTS], "every due rule ran exactly once");
    assert!(
        leased_by(&url, &names, &holder).await.is_empty(),
        "the dead worker's lease was taken over"
    );
    assert_eq!(
        counts[dead], 1,
        "the dead worker's rule ran, once, after its lease"
    );
    let survivors_ran: u64 = outputs.iter().map(|o| o["ran"].as_u64().unwrap()).sum();
    assert!(
        survivors_ran >= 1 && survivors_ran <= TENANTS as u64,
        "{outputs:?}"
    );
    for output in &outputs {
        assert_eq!(output["runs_finished"], true, "{output}");
        assert_eq!(output["directories"], TENANTS, "{output}");
        assert_eq!(output["errors"], 0, "{output}");
    }
}
