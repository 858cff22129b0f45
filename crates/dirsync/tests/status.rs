//! Failures stay visible through the command line (issue 12, point 3): `status` and
//! `scheduler:run-due` report failing integrations and held plans on every call, with exit
//! code 1 while one is failing and 3 while a plan is held; `--notify-url` receives the events
//! as JSON; a run refused by another run's lease is the `busy` error kind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};
use dirsync_store::Store as _;
use serde_json::Value;

/// `dirsync --json --db DB ARGS`: the exit code, and stdout (or else stderr) as JSON.
async fn dirsync(db: &Path, args: &[&str]) -> (i32, Value) {
    let mut command = Command::new(support::dirsync_binary());
    // Google's failures are final at once: no retry waits.
    command.env("DIRSYNC_RETRY_BUDGET_SECONDS", "0");
    command.arg("--json").arg("--db").arg(db).args(args);
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .or_else(|_| serde_json::from_slice(&out.stderr))
        .unwrap_or_else(|_| {
            panic!(
                "dirsync {args:?}: no JSON: {} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_run_due_keep_failures_and_held_plans_visible() {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(31, 60)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("directory.db");
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let base = google.base_url();
    let subject = google.admin_subject();
    let (code, created) = dirsync(
        &db,
        &[
            "google-integration:create",
            "--title",
            "Google",
            "--key",
            key.to_str().unwrap(),
            "--subject",
            &subject,
            "--api-base",
            &base,
            "--quota-per-minute",
            "0",
        ],
    )
    .await;
    assert_eq!(code, 0, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        dirsync(&db, &["google-integration:activate", &id]).await.0,
        0
    );
    let (code, status) = dirsync(&db, &["status"]).await;
    assert_eq!(code, 0, "{status}");
    assert_eq!(status["integrations"][0]["state"], "active");
    assert!(status["integrations"][0]["next_run"].is_string());

    // Google fails every call: the scheduled run fails; run-due says so, and keeps saying so
    // on every later call while the integration is failing.
    google.set_error_rate(1.0);
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (code, due) = dirsync(&db, &["scheduler:run-due", "--now", &later]).await;
    assert_eq!(code, 1, "{due}");
    assert_eq!(due["runs"][0]["outcome"], "failed", "{due}");
    assert_eq!(due["status"]["integrations"][0]["last_run_failed"], true);
    assert!(due["status"]["integrations"][0]["last_failure"]["reason"].is_string());
    for _ in 0..2 {
        let (code, due) = dirsync(&db, &["scheduler:run-due", "--now", &later]).await;
        assert_eq!(code, 1, "{due}");
    }
    let (code, status) = dirsync(&db, &["status"]).await;
    assert_eq!(code, 1, "{status}");

    // Google is back: the retry succeeds and everything is green again.
    google.set_error_rate(0.0);
    let (code, due) = dirsync(&db, &["scheduler:run-due", "--now", &later]).await;
    assert_eq!(code, 0, "{due}");
    assert_eq!(dirsync(&db, &["status"]).await.0, 0);

    // A mass removal is held; the webhook hears of it; status and run-due exit 3 while held.
    let mut hook = mockito::Server::new_async().await;
    let held_event = hook
        .mock("POST", "/hook")
        .match_header("content-type", "application/json")
        .match_body(mockito::Matcher::PartialJson(
            serde_json::json!({"event": "held", "integration": id}),
        ))
        .expect(1)
        .create_async()
        .await;
    let leavers: Vec<String> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(20)
        .map(|u| u.primary_email.clone())
        .collect();
    for l in &leavers {
        google.remove_user(l).unwrap();
    }
    let url = format!("{}/hook", hook.url());
    let (code, held) = dirsync(&db, &["--notify-url", &url, "sync", &id]).await;
    assert_eq!(code, 3, "{held}");
    held_event.assert_async().await;
    let (code, status) = dirsync(&db, &["status"]).await;
    assert_eq!(code, 3, "{status}");
    assert_eq!(
        status["integrations"][0]["held_plans"][0]["plan"], held["held_plan"],
        "{held}"
    );
    let (code, due) = dirsync(&db, &["scheduler:run-due"]).await;
    assert_eq!(code, 3, "{due}");

    // Another run holds the lease: the documented `busy` kind.
    let store = dirsync_sqlite::SqliteStore::open(&db).unwrap();
    let now = chrono::Utc::now();
    let integration: dirsync_core::IntegrationId = id.parse().unwrap();
    store
        .acquire_lease(
            integration,
            "another-worker",
            now + chrono::Duration::minutes(5),
            now,
        )
        .await
        .unwrap();
    let (code, err) = dirsync(&db, &["sync", &id]).await;
    assert_eq!(code, 1);
    assert_eq!(err["error"]["kind"], "busy", "{err}");
}

/// `integration:push ID on` opens a `users.watch` channel to `--public-url` at once; `status`
/// shows it (its expiry, no notification yet) and never its token; `off` stops it at Google
/// and `status` no longer shows push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_push_opens_and_stops_the_channel_and_status_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = support::setup(dir.path()).await;
    let id = cli.create(&google, &key, &[]).await;
    cli.json(&["google-integration:activate", &id], 0).await;
    // Nothing listens there: the emulator's notifications fail and are retried, unseen.
    let public = ["--public-url", "http://127.0.0.1:9"];

    let on = cli
        .json(&[&public[..], &["integration:push", &id, "on"]].concat(), 0)
        .await;
    assert_eq!(on["push"], true, "{on}");
    let channels = google.watch_channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    assert!(!channels[0].stopped);
    assert_eq!(
        channels[0].address,
        format!("http://127.0.0.1:9/hooks/google/{id}")
    );
    let out = cli.run(&["--json", "status"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let status = out.json();
    let push = &status["integrations"][0]["push"];
    assert_eq!(push["channel"], channels[0].id.as_str(), "{status}");
    assert!(support::is_rfc3339_or_null(&push["expires_at"]));
    assert!(!push["expires_at"].is_null());
    assert!(push["last_notification"].is_null());
    assert!(!out.stdout.contains("token"), "{}", out.stdout);
    let text = cli.run(&["status"]).await.stdout;
    assert!(
        text.contains(&format!("push          channel {}", channels[0].id)),
        "{text}"
    );
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["push_status"], *push, "{shown}");

    let off = cli
        .json(
            &[&public[..], &["integration:push", &id, "off"]].concat(),
            0,
        )
        .await;
    assert_eq!(off["push"], false, "{off}");
    assert!(google.watch_channels().iter().all(|c| c.stopped));
    let status = cli.json(&["status"], 0).await;
    assert!(status["integrations"][0].get("push").is_none(), "{status}");
}
