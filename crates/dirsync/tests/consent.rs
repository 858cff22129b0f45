//! The whole consent flow through `dirsync`, with this test as the admin's browser:
//! `google-integration:create --oauth-client`, `google-integration:authorize` (the consent
//! URL on stdout's first line, Google's redirect to the command's listener), activation, the
//! sealed secret on disk, a wrong key, a timeout.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

use base64::Engine as _;
use dirsync_google_emulator::RunningEmulator;
use serde_json::Value;
use support::{Cli, setup};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn create_consent(google: &RunningEmulator, cli: &Cli, dir: &std::path::Path) -> String {
    let client = dir.join("client.json");
    std::fs::write(&client, google.oauth_client_json()).unwrap();
    let base = google.base_url();
    let created = cli
        .json(
            &[
                "google-integration:create",
                "--title",
                "Consent",
                "--oauth-client",
                client.to_str().unwrap(),
                "--oauth-base",
                &base,
                "--api-base",
                &base,
                "--quota-per-minute",
                "0",
            ],
            0,
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

/// Runs `google-integration:authorize ID --no-browser --json`, follows the printed URL as a
/// browser does, and returns (exit code, the final JSON, stderr).
async fn authorize(cli: &Cli, id: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut child = Command::new(&cli.binary)
        .arg("--db")
        .arg(&cli.db)
        .args(["--json", "google-integration:authorize", id, "--no-browser"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    });
    let (line, mut stdout) = first.await.unwrap();
    let url: Value = serde_json::from_str(&line).unwrap();
    let url = url["authorize_url"].as_str().unwrap().to_owned();
    // The browser: Google's page answers with a redirect to the command's listener.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200, "{}", page.url());
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let code = child.wait().unwrap().code().unwrap_or(-1);
        (code, rest, err)
    });
    let (code, rest, err) = rest.await.unwrap();
    (
        code,
        serde_json::from_str(&rest).unwrap_or(Value::Null),
        err,
    )
}

#[tokio::test]
async fn an_admin_authorizes_through_the_browser_and_the_integration_activates() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (google, cli, _key) = setup(dir.path()).await;
    let id = create_consent(&google, &cli, dir.path()).await;
    let admin = google.admin_subject();
    google.set_auto_consent(Some(&admin));

    let (code, integration, err) = authorize(&cli, &id, &[]).await;
    assert_eq!(code, 0, "{err}");
    let authorization = &integration["authorization"];
    assert_eq!(authorization["method"], "oauth", "{integration}");
    assert_eq!(authorization["authorized_by"], admin.as_str());
    assert!(authorization["authorized_at"].is_string());
    assert_eq!(authorization["scopes"].as_array().map(Vec::len), Some(3));
    assert_eq!(integration["state_name"], "staged");

    let activated = cli.json(&["google-integration:activate", &id], 0).await;
    assert_eq!(activated["state_name"], "active", "{activated}");
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(
        users.as_array().map(Vec::len),
        Some(google.tenant().live_users().count())
    );

    // The consent is sealed next to the directory, with a key file only its owner reads.
    let sealed = std::fs::read_to_string(dir.path().join("directory.db.secrets"))?;
    assert!(!sealed.contains("1//emu-"), "{sealed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = dir.path().join("directory.db.secret-key");
        assert_eq!(std::fs::metadata(key)?.permissions().mode() & 0o777, 0o600);
    }
    // Under another key the consent does not open, and the error says so.
    let other = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let out = Command::new(&cli.binary)
        .arg("--db")
        .arg(&cli.db)
        .args(["sync", &id])
        .env("DIRSYNC_SECRET_KEY", other)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("cannot be decrypted"), "{stderr}");
    assert!(!stderr.contains("1//emu-"));
    Ok(())
}

#[tokio::test]
async fn a_consent_that_never_comes_back_times_out() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (google, cli, _key) = setup(dir.path()).await;
    let id = create_consent(&google, &cli, dir.path()).await;
    let out = cli
        .run(&[
            "google-integration:authorize",
            &id,
            "--no-browser",
            "--timeout",
            "1",
        ])
        .await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("http://"), "{}", out.stdout);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    Ok(())
}

/// `dirsync serve` with its default public URL (where it listens): an API client asks for the
/// consent URL, the browser follows it through Google back to the server, and is sent to the
/// console's page of the integration, authorized.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_authorizes_by_consent_at_its_public_url() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (google, cli, _key) = setup(dir.path()).await;
    let id = create_consent(&google, &cli, dir.path()).await;
    google.set_auto_consent(Some(&google.admin_subject()));
    let token = cli
        .json(&["api-token:create", "--name", "console"], 0)
        .await["token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();
    let mut child = Command::new(&cli.binary)
        .arg("--db")
        .arg(&cli.db)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-scheduler"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut line = String::new();
    stderr.read_line(&mut line)?;
    let base = line
        .trim()
        .strip_prefix("dirsync: listening on ")
        .ok_or("no address")?
        .to_owned();

    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{base}/api/v1/integrations/{id}/authorize"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let url = answer["authorize_url"].as_str().ok_or("no authorize_url")?;
    let callback = format!("{base}/oauth/google/callback");
    let encoded: String = url::form_urlencoded::byte_serialize(callback.as_bytes()).collect();
    assert!(url.contains(&format!("redirect_uri={encoded}")), "{url}");
    let landed = http.get(url).send().await?;
    // The console's page of the integration, authorized; this browser has no console session,
    // so the console asks it to sign in first and to come back there.
    let page = format!("/console/integrations/{id}?authorized=1");
    let next: String = url::form_urlencoded::byte_serialize(page.as_bytes()).collect();
    assert_eq!(
        landed.url().as_str(),
        format!("{base}/console/signin?next={next}")
    );
    let shown: Value = http
        .get(format!("{base}/api/v1/integrations/{id}"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(shown["authorization"]["method"], "oauth", "{shown}");
    child.kill()?;
    child.wait()?;

    // A public URL must be an http(s) URL.
    let refused = cli
        .run(&["serve", "--public-url", "ftp://example.com"])
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("http"), "{}", refused.stderr);
    Ok(())
}

/// `--domain` on create and `google-integration:update`: activation names the customer's
/// domains and reads only the chosen one's users; a domain that is not the customer's is
/// refused with the list, and nothing changes.
#[tokio::test]
async fn a_chosen_domain_is_checked_and_limits_what_is_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (google, cli, key) = setup(dir.path()).await;
    google.with_tenant(|t| t.add_domain("eu.example.com"));
    google.add_user(dirsync_google_emulator::NewUser::new(
        "marie@eu.example.com",
        "Marie",
        "Curie",
    ))?;
    let id = cli
        .create(&google, &key, &["--domain", "EU.example.com"])
        .await;
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["settings"]["domain"], "eu.example.com", "{shown}");
    let activated = cli.json(&["google-integration:activate", &id], 0).await;
    assert_eq!(activated["state_name"], "active", "{activated}");
    let checks = activated["authorization"]["checks"].to_string();
    assert!(
        checks.contains("the customer's domains: example.com, eu.example.com"),
        "{activated}"
    );
    let users = cli.json(&["users:list"], 0).await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");

    let refused = cli
        .run(&[
            "google-integration:update",
            &id,
            "--domain",
            "elsewhere.org",
        ])
        .await;
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("example.com, eu.example.com"),
        "{}",
        refused.stderr
    );
    let shown = cli.json(&["integration:show", &id], 0).await;
    assert_eq!(shown["settings"]["domain"], "eu.example.com", "{shown}");

    let all = cli
        .json(&["google-integration:update", &id, "--all-domains"], 0)
        .await;
    assert!(all["settings"]["domain"].is_null(), "{all}");
    assert_eq!(all["state_name"], "active", "{all}");

    // The concurrency alone: checked like any reauthorization, the domain left as it is.
    let faster = cli
        .json(&["google-integration:update", &id, "--concurrency", "8"], 0)
        .await;
    assert_eq!(faster["settings"]["concurrency"], 8, "{faster}");
    assert!(faster["settings"]["domain"].is_null(), "{faster}");
    let zero = cli
        .run(&["google-integration:update", &id, "--concurrency", "0"])
        .await;
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    let nothing = cli.run(&["google-integration:update", &id]).await;
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    Ok(())
}
