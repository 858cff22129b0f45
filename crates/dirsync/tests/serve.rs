//! `dirsync serve` as an admin runs it: an API token made with the CLI opens the API on the
//! same directory file, beside the scheduler loop; SIGTERM stops both cleanly (exit 0) and
//! leaves no lease behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_with_a_cli_token_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (google, cli, key) = setup(dir.path()).await;
    let id = cli.create(&google, &key, &[]).await;
    cli.json(&["google-integration:activate", &id], 0).await;
    let token = cli
        .json(&["api-token:create", "--name", "test", "--read-only"], 0)
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut child = Command::new(&cli.binary)
        .args(["--json", "--db"])
        .arg(&cli.db)
        .args(["serve", "--listen", "127.0.0.1:0", "--tick-seconds", "1"])
        .env("DIRSYNC_REQUEST_TIMEOUT", "20")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line on stderr names the address.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("dirsync: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();

    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let unauthorized = http
        .get(format!("{base}/api/v1/integrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let listed: Value = http
        .get(format!("{base}/api/v1/integrations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    let refused = http
        .post(format!("{base}/api/v1/integrations/{id}/sync"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "the token is read-only");

    // The scheduler loop runs beside the API (every second here; nothing is due before
    // tomorrow's 02:00, and the loop itself is tested in dirsync-service).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let runs: Value = http
        .get(format!("{base}/api/v1/integrations/{id}/runs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "only the initial sync: {runs}"
    );

    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("dirsync_held_plans 0"), "{metrics}");

    // The console beside the API: a one-time link from `console:login` signs a browser in.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = browser.get(format!("{base}/console")).send().await.unwrap();
    assert_eq!(home.status(), 303, "no session: to sign in");
    let link = cli.json(&["console:login", "--public-url", &base], 0).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = link
        .strip_prefix(&format!("{base}/console/bootstrap?token="))
        .unwrap_or_else(|| panic!("{link}"));
    let signed_in = browser
        .post(format!("{base}/console/bootstrap"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let page = browser
        .get(format!("{base}/console"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("/console/integrations/{id}"))
    );

    // SIGTERM: a clean stop, exit 0, the JSON says so.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stopped: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(stopped["stopped"], true);
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "nothing listens any more"
    );
    // No lease is left behind: a sync from the command line runs at once.
    let synced = cli.json(&["sync", &id], 0).await;
    assert!(synced["run_id"].is_string());
}
