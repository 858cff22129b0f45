//! `cli`: the `dirsync` binary itself, as a user runs it, against the emulator under latency:
//! `google-integration:create … --quota-per-minute 1000000`, `google-integration:activate`
//! (access checks and the initial sync), then `sync` with no change. Each command is a process
//! of its own over one SQLite file; the emulator runs in this process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::TenantArgs;
use crate::remote::{describe, emulator, floor};

/// The `dirsync` binary given, or the one beside this example (`target/release/dirsync` for
/// `target/release/examples/bench`); an error saying how to build it if there is none.
pub(crate) fn dirsync_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let path = match given {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("the bench has no parent folder")?
            .join("dirsync"),
    };
    if !path.is_file() {
        bail!(
            "no dirsync binary at {} (build it first: cargo build --release -p dirsync, or pass \
             --dirsync PATH)",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `dirsync --json --db DB args…`, timed; its JSON answer.
fn dirsync(binary: &Path, db: &Path, args: &[&str]) -> Result<(Value, Duration)> {
    let started = Instant::now();
    let out = std::process::Command::new(binary)
        .arg("--json")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    let wall = started.elapsed();
    // A held or failed run still answers its JSON (exit codes 2 and 1); the outcome is printed.
    match serde_json::from_slice(&out.stdout) {
        Ok(json) => Ok((json, wall)),
        Err(_) => bail!(
            "dirsync {args:?} exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `cli`: see the module documentation.
pub(crate) async fn cli(
    tenant: TenantArgs,
    latency_ms: u64,
    concurrency: Option<usize>,
    binary: Option<PathBuf>,
    compare: Vec<String>,
    shed: Option<u64>,
) -> Result<()> {
    let binary = dirsync_binary(binary)?;
    let emu = emulator(tenant.users, tenant.groups, tenant.memberships).await?;
    let t = emu.tenant();
    let floor = floor(&t);
    let described = describe(&t);
    drop(t);
    let latency = Duration::from_millis(latency_ms);
    emu.set_latency(latency);
    emu.set_max_in_flight(shed);
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("key.json");
    std::fs::write(&key, emu.service_account_key_json())?;
    let db = dir.path().join("directory.db");
    let (subject, base) = (emu.admin_subject(), emu.base_url());
    let concurrency = concurrency.map(|c| c.to_string());
    let mut create = vec![
        "google-integration:create",
        "--title",
        "Bench",
        "--key",
        key.to_str().context("a UTF-8 temporary path")?,
        "--subject",
        &subject,
        "--api-base",
        &base,
        "--quota-per-minute",
        "1000000",
    ];
    if let Some(c) = &concurrency {
        create.extend(["--concurrency", c]);
    }
    // The binary's blocking runs are moved off the emulator's runtime threads.
    let run = |args: Vec<String>| {
        let (binary, db) = (binary.clone(), db.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            dirsync(&binary, &db, &args)
        })
    };
    let owned = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (created, create_wall) = run(owned(&create)).await??;
    let id = created["id"]
        .as_str()
        .context("create answered no id")?
        .to_owned();
    emu.reset_stats();
    let (activated, activate_wall) = run(owned(&["google-integration:activate", &id])).await??;
    let activation_requests = emu.stats();
    emu.reset_stats();
    let (resynced, resync_wall) = run(owned(&["sync", &id])).await??;
    let resync_requests = emu.stats();

    let critical = latency * floor.longest_chain as u32;
    let ratio = |d: Duration| d.as_secs_f64() / critical.as_secs_f64();
    let run_of = |v: &Value| -> Value { v.get("initial_run").unwrap_or(v).clone() };
    println!(
        "cli benchmark (the dirsync binary, one process a command, SQLite file; emulator {latency_ms} ms a request, --quota-per-minute 1000000, --concurrency {})",
        concurrency.as_deref().unwrap_or("default")
    );
    if let Some(n) = shed {
        println!("  the emulator sheds load past {n} requests in flight (503 backendError)");
    }
    println!("  binary          {}", binary.display());
    println!("  tenant          {described}");
    println!(
        "  critical path   {:>8.2} s  (longest chain {} pages × {latency_ms} ms); call floor {}",
        critical.as_secs_f64(),
        floor.longest_chain,
        floor.calls
    );
    println!("  create          {:>8.2} s", create_wall.as_secs_f64());
    for (what, out, wall, stats) in [
        (
            "activate (access checks + initial sync)",
            &activated,
            activate_wall,
            &activation_requests,
        ),
        ("sync, no change", &resynced, resync_wall, &resync_requests),
    ] {
        let run = run_of(out);
        let at = |k: &str| {
            run[k]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        };
        let run_s = match (at("started_at"), at("finished_at")) {
            (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
            _ => f64::NAN,
        };
        println!("  {what}");
        println!(
            "    wall          {:>8.2} s  = {:.2}× the critical path",
            wall.as_secs_f64(),
            ratio(wall)
        );
        println!(
            "    run           {:>8.2} s  ({}, {} requests, {} retries; fetch, view, plan, apply, record)",
            run_s,
            run["outcome"].as_str().unwrap_or("?"),
            run["requests"].as_u64().unwrap_or(0),
            run["retries"].as_u64().unwrap_or(0),
        );
        print_emulator(stats);
    }
    for command in &compare {
        emu.reset_stats();
        let (command, env) = (
            command.clone(),
            [
                ("DIRSYNC_EMU_BASE", base.clone()),
                ("DIRSYNC_EMU_KEY", key.display().to_string()),
                ("DIRSYNC_EMU_SUBJECT", subject.clone()),
            ],
        );
        let (out, wall) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .envs(env)
                .output();
            (out.map(|o| (command, o)), started.elapsed())
        })
        .await?;
        let (command, out) = out.context("running a --compare command")?;
        let stats = emu.stats();
        println!("  compared: {command}");
        if !out.status.success() {
            println!(
                "    failed        {} ({})",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        println!(
            "    wall          {:>8.2} s  = {:.2}× the critical path, {:.1}× dirsync's activation",
            wall.as_secs_f64(),
            ratio(wall),
            wall.as_secs_f64() / activate_wall.as_secs_f64()
        );
        println!(
            "    read          {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        print_emulator(&stats);
    }
    emu.shutdown().await;
    Ok(())
}

/// The emulator's line of a command's figures: its requests, tokens and refusals.
fn print_emulator(stats: &dirsync_google_emulator::Stats) {
    println!(
        "    emulator      {:>8} requests (tokens issued {}, refused for quota {}, for load {})",
        stats.requests_total,
        stats.tokens_issued,
        stats.quota_rejections,
        stats.overload_rejections
    );
}
