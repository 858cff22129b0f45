//! `bench workers`: how the scheduled work of many tenants of one PostgreSQL database scales
//! with the number of `dirsync scheduler:work --all-tenants` processes sharing it.
//!
//! For each worker count, a fresh database gets `tenants` tenants, each with an active Google
//! integration (reading one emulated tenant under latency) whose hourly rule is due; then that
//! many worker processes start at once, and the figure is the wall time until every tenant's
//! rule has run (once: the count of runs is checked).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use directory_sync::core::*;
use directory_sync::google::{GoogleSettings, KeyReference};
use directory_sync::store::Store;
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_postgres::PostgresStore;
use dirsync_postgres::testing as cluster;
use dirsync_service::{CreateGoogle, Registry, Service, Silent};

use crate::cli::dirsync_binary;

/// A tenant whose integration's hourly rule, created three hours ago, is due now.
async fn tenant(
    base: &PostgresStore,
    name: &str,
    google: &RunningEmulator,
    key: &Path,
) -> Result<()> {
    let store = Arc::new(base.tenant(name).await?);
    let past = Utc::now() - chrono::Duration::hours(3);
    let service = Service::new(store, Registry::builtin()).with_clock(Arc::new(move || past));
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject())?,
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
            Schedule::every(Interval::from_minutes(60)?),
        ))
        .await?;
    service.activate(created.integration.id(), &Silent).await?;
    Ok(())
}

/// The tenants whose due rule has run (a scheduled run is recorded), and the most runs any
/// one of them has.
async fn progress(tenants: &[(PostgresStore, IntegrationId)]) -> Result<(usize, usize)> {
    let (mut done, mut most) = (0, 0);
    for (store, id) in tenants {
        let runs = store.runs(*id, 10).await?;
        let scheduled = runs.iter().filter(|r| r.rule.is_some()).count();
        done += usize::from(scheduled > 0);
        most = most.max(scheduled);
    }
    Ok((done, most))
}

fn spawn(binary: &Path, url: &str) -> Result<Child> {
    Ok(Command::new(binary)
        .args([
            "--db",
            url,
            "scheduler:work",
            "--all-tenants",
            "--tick-seconds",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

/// One measurement: `workers` processes over `tenants` due tenants; the wall time and the
/// largest peak RSS of a worker.
async fn measure(
    binary: &Path,
    google: &RunningEmulator,
    key: &Path,
    tenants: usize,
    workers: usize,
    latency: Duration,
) -> Result<(Duration, String)> {
    let url = cluster::fresh_database_url()
        .await
        .context("no PostgreSQL: set DIRSYNC_TEST_POSTGRES_URL or install initdb/pg_ctl")?;
    let base = PostgresStore::connect(&url).await?;
    let names: Vec<String> = (0..tenants).map(|i| format!("customer{i:03}")).collect();
    google.set_latency(Duration::ZERO);
    for name in &names {
        tenant(&base, name, google, key).await?;
    }
    // Opened before the clock starts: the bench's own polling must cost the workers little.
    let mut handles = Vec::with_capacity(tenants);
    for name in &names {
        let store = base.tenant(name).await?;
        let id = store.integrations().await?[0].id();
        handles.push((store, id));
    }
    google.set_latency(latency);
    let started = Instant::now();
    let mut children = (0..workers)
        .map(|_| spawn(binary, &url))
        .collect::<Result<Vec<_>>>()?;
    let outcome = loop {
        let (done, most) = progress(&handles).await?;
        if most > 1 {
            break Err(anyhow::anyhow!("a rule ran twice"));
        }
        if done == tenants {
            break Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(600) {
            break Err(anyhow::anyhow!(
                "only {done} of {tenants} rules ran in 10 minutes"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let peaks: Vec<u64> = children
        .iter()
        .filter_map(|c| peak_rss_kib(c.id()))
        .collect();
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let wall = outcome?;
    let peak = peaks.iter().max().map_or("unknown".to_owned(), |kib| {
        format!("{:.0} MiB", *kib as f64 / 1024.0)
    });
    Ok((wall, peak))
}

/// A process's peak resident set (`VmHWM`), in KiB, where /proc tells.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) async fn workers(
    tenants: usize,
    max_workers: usize,
    users: usize,
    latency_ms: u64,
    binary: Option<PathBuf>,
) -> Result<()> {
    let binary = dirsync_binary(binary)?;
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(7, users))).await?;
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json())?;
    let latency = Duration::from_millis(latency_ms);
    println!(
        "{tenants} tenants, each an integration reading {users} users at {latency_ms} ms a request; \
         one due rule each"
    );
    let (one, peak) = measure(&binary, &google, &key, tenants, 1, latency).await?;
    println!(
        "  1 worker        {:>8.2} s                      peak RSS of a worker {peak}",
        one.as_secs_f64()
    );
    let mut counts: Vec<usize> = vec![2, max_workers];
    counts.dedup();
    for workers in counts.into_iter().filter(|&w| w > 1) {
        let (wall, peak) = measure(&binary, &google, &key, tenants, workers, latency).await?;
        println!(
            "  {workers} workers       {:>8.2} s   {:.2}x one worker   peak RSS of a worker {peak}",
            wall.as_secs_f64(),
            one.as_secs_f64() / wall.as_secs_f64()
        );
    }
    Ok(())
}
