//! `bench api`: how the HTTP API answers reads (a page of users, the status) on a SQLite
//! directory, at rest and while a large apply runs on the same file.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use directory_sync::core::Version;
use directory_sync::service::{Registry, Service};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use dirsync_server::{AppState, router};

use crate::create_primary;
use crate::local::synthetic_changes;

/// Latencies of one kind of request: count, p50, p99, max.
fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "  {name:<28} {:>5} requests  p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        times.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// Reads `path` with `token` until `until` says stop (at least `min` times); the latencies.
async fn reads(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    min: usize,
    until: &dyn Fn() -> bool,
) -> Result<Vec<Duration>> {
    let mut times = Vec::new();
    while times.len() < min || !until() {
        let started = Instant::now();
        let answer = http.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(answer.status().is_success(), "{url}: {}", answer.status());
        answer.bytes().await?;
        times.push(started.elapsed());
        if times.len() >= 100_000 {
            break;
        }
    }
    Ok(times)
}

pub(crate) async fn api(users: u32, groups: u32, memberships: u32, samples: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db"))?);
    let now = Utc::now();
    let primary = create_primary(store.as_ref(), now).await?;
    let (changes, _) =
        synthetic_changes(&primary, Version::ZERO, 0, users, groups, memberships, now)?;
    let started = Instant::now();
    let applied = store.apply(&changes).await?;
    println!(
        "api benchmark: a SQLite directory of {users} users, {groups} groups, {memberships} memberships (loaded in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let service = Arc::new(Service::new(store.clone(), Registry::builtin()));
    let token = service.create_api_token("bench", true).await?;
    let token = token.secret.expose_secret().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(AppState::new(Arc::clone(&service)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let users_page = format!("{base}/api/v1/users?limit=100");
    let status = format!("{base}/api/v1/status");

    println!("at rest:");
    let never = || true;
    summary(
        "GET /users?limit=100",
        reads(&http, &users_page, &token, samples, &never).await?,
    );
    summary(
        "GET /status",
        reads(&http, &status, &token, samples, &never).await?,
    );

    // The load: as many new users again, applied in one transaction on the same file.
    let (load, _) = synthetic_changes(&primary, applied.version, users, users, 0, 0, now)?;
    let ops = load.ops().len();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let apply = tokio::spawn({
        let store = store.clone();
        let done = Arc::clone(&done);
        async move {
            let started = Instant::now();
            let result = store.apply(&load).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            result.map(|_| started.elapsed())
        }
    });
    let over = || done.load(std::sync::atomic::Ordering::SeqCst);
    let (during_users, during_status) = tokio::join!(
        reads(&http, &users_page, &token, 1, &over),
        reads(&http, &status, &token, 1, &over),
    );
    let took = apply.await?.context("the apply under load")?;
    println!(
        "while an apply of {ops} operations runs ({:.2} s):",
        took.as_secs_f64()
    );
    summary("GET /users?limit=100", during_users?);
    summary("GET /status", during_status?);
    Ok(())
}
