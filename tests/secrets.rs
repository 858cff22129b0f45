//! Secrets (issue 8, point 6): during a full run against the emulator — access validation, a
//! sync under injected errors, a token revoked mid-run, a refused key, a withdrawn scope, an
//! expired token — everything `tracing` emits (every level, every crate, `log` records
//! included), every error message and the `Debug` of every public value handled is captured,
//! and no private-key material, access token or JWT appears in it. Plain `http://` endpoints
//! are refused unless on loopback; the emulator's token checks are exercised through the
//! connector.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use directory_sync::core::{DirectorySource, Email, KeyOwnership, NoProgress, RunOutcome, Scope};
use directory_sync::engine::{Policy, sync_inbound};
use directory_sync::google::{
    GcpAuthTokenSource, GoogleConnector, GoogleConnectorBuilder, KeyInfo, RetryConfig,
    StaticTokenSource, TokenSource,
};
use directory_sync::google::{
    GoogleSettings, KeyReference, ServiceAccountKey, scopes as google_scopes,
};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use dirsync_google_emulator::{OTHER_TEST_PRIVATE_KEY_PEM, ServiceAccount, TEST_PRIVATE_KEY_PEM};
use support::*;

/// Everything every `tracing` subscriber call of this test binary wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a global subscriber at TRACE that writes into a buffer, and returns it.
fn captured() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let buffer = Captured::default();
            let writer = buffer.clone();
            tracing_subscriber::fmt()
                .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .try_init()
                .unwrap();
            buffer
        })
        .clone()
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Fails if `text` holds any line of either test private key, a PEM header, an access token
/// (`ya29.` or one of `tokens`) or a JWT (`eyJ`: base64url of `{"`).
fn assert_no_secret(what: &str, text: &str, tokens: &[String]) {
    for pem in [TEST_PRIVATE_KEY_PEM, OTHER_TEST_PRIVATE_KEY_PEM] {
        for line in pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
        {
            assert!(!text.contains(line), "{what}: private key material leaked");
        }
    }
    assert!(!text.contains("PRIVATE KEY"), "{what}: a PEM key leaked");
    assert!(!text.contains("ya29."), "{what}: an access token leaked");
    assert!(!text.contains("eyJ"), "{what}: a JWT leaked");
    for t in tokens {
        assert!(!text.contains(t.as_str()), "{what}: an access token leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_token_or_jwt_appears_in_logs_errors_or_debug_output_of_a_full_run() {
    let logs = captured();
    let emu = emulator(61, 300).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("secrets.db")).unwrap();
    let id = active_integration(&store, &emu).await;
    let policy = Policy::default();
    let mut printed = String::new();
    let mut tokens = Vec::new();

    // Every value an embedding application handles, printed with Debug.
    let key = ServiceAccountKey::new(emu.service_account_key_json());
    let info = KeyInfo::parse(key.clone()).unwrap();
    let subject = Email::new(emu.admin_subject()).unwrap();
    let source =
        GcpAuthTokenSource::new(info.clone(), subject.clone(), Duration::from_secs(20)).unwrap();
    let scope = Scope::new(google_scopes::USER_READONLY).unwrap();
    let token = source.token(&scope).await.unwrap();
    tokens.push(token.expose_secret().to_owned());
    let builder = connector(&emu);
    let connector = builder.clone().build().unwrap();
    printed.push_str(&format!(
        "{key:?} {info:?} {source:?} {token:?} {builder:?} {connector:?}"
    ));

    // Access validation, then a sync under 5 % injected errors with every token revoked
    // while members are listed (the connector drops its token and fetches a new one).
    let report = connector.validate_access().await.unwrap();
    assert!(report.missing().is_empty(), "{report:?}");
    printed.push_str(&format!("{report:?}"));
    emu.set_error_rate(0.05);
    let revoke = RevokeOnce {
        emu: &emu,
        done: Default::default(),
    };
    let ctx = context(&store, &policy, "secrets-test", &revoke);
    let run = sync_inbound(&ctx, &connector, id, None).await.unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert!(*revoke.done.lock().unwrap(), "tokens were revoked mid-run");
    printed.push_str(&format!(
        "{run:?} {:?} {:?} {:?}",
        store.integration(id).await.unwrap(),
        store.view(id).await.unwrap(),
        store.runs(id, 10).await.unwrap()
    ));
    emu.set_error_rate(0.0);

    // A key the token endpoint refuses (signed by another private key).
    let wrong = ServiceAccount::new(
        "sync@test-project.iam.gserviceaccount.com",
        "1",
        OTHER_TEST_PRIVATE_KEY_PEM,
    )
    .key_json(&emu.token_uri());
    let refused = connector_with_key(&emu, &wrong);
    let e = refused.validate_access().await.unwrap_err();
    assert!(
        e.to_string().contains("key was refused"),
        "the signature check refused the key: {e}"
    );
    printed.push_str(&format!("{e} {e:?} {refused:?}"));
    let e = refused.fetch(&everything(), &NoProgress).await.unwrap_err();
    printed.push_str(&format!("{e} {e:?}"));

    // A withdrawn scope: validation names it, and a sync fails the integration.
    emu.deny_scope(google_scopes::GROUP_READONLY);
    emu.revoke_all_tokens();
    let report = connector.validate_access().await.unwrap();
    assert_eq!(
        report
            .missing()
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>(),
        [google_scopes::GROUP_READONLY],
        "the scope check refused exactly the withdrawn scope"
    );
    let fresh = connector_with_key(&emu, &emu.service_account_key_json());
    let ctx = context(&store, &policy, "secrets-test", &NoProgress);
    let run = sync_inbound(&ctx, &fresh, id, None).await.unwrap();
    assert!(matches!(run.outcome, RunOutcome::Failed { .. }), "{run:?}");
    printed.push_str(&format!(
        "{report:?} {run:?} {:?}",
        store.integration(id).await.unwrap()
    ));
    let e = sync_inbound(&ctx, &fresh, id, None).await.unwrap_err();
    printed.push_str(&format!("{e} {e:?}"));
    emu.allow_scope(google_scopes::GROUP_READONLY);

    // An expired access token: the API refuses it (401 authError), twice with a "fresh" one.
    emu.set_token_lifetime(Duration::from_secs(1));
    let short = GcpAuthTokenSource::new(info, subject, Duration::from_secs(20)).unwrap();
    let expired = short
        .token(&scope)
        .await
        .unwrap()
        .expose_secret()
        .to_owned();
    tokens.push(expired.clone());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let stale = GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .token_source(Arc::new(StaticTokenSource::new([expired])))
        .retry(RetryConfig::immediate(1))
        .build()
        .unwrap();
    let e = stale.fetch(&everything(), &NoProgress).await.unwrap_err();
    assert!(
        e.to_string().contains("401 (authError) twice"),
        "the expired token was refused: {e}"
    );
    printed.push_str(&format!("{e} {e:?} {stale:?}"));

    // The patterns do match the secrets of this run (so their absence means something).
    assert!(
        tokens.iter().all(|t| t.starts_with("ya29.")),
        "emulator tokens"
    );
    let jwt = dirsync_google_emulator::sign_jwt(TEST_PRIVATE_KEY_PEM, &serde_json::json!({"a": 1}));
    assert!(jwt.unwrap().starts_with("eyJ"), "a JWT starts with eyJ");

    let logged = logs.text();
    if std::env::var_os("SECRETS_TEST_LOG").is_some() {
        eprintln!("{logged}");
    }
    for expected in [
        "fetched a complete snapshot",
        "retrying",
        "401: dropping the cached token",
        "token request refused or failed",
    ] {
        assert!(logged.contains(expected), "the log shows {expected:?}");
    }
    assert_no_secret("Debug and error output", &printed, &tokens);
    assert_no_secret("tracing output", &logged, &tokens);
}

/// Revokes every token once, on the first page of members.
struct RevokeOnce<'a> {
    emu: &'a dirsync_google_emulator::RunningEmulator,
    done: Mutex<bool>,
}

impl directory_sync::core::FetchProgress for RevokeOnce<'_> {
    fn page(&self, kind: directory_sync::core::ObjectKind, _items: usize) {
        let mut done = self.done.lock().unwrap();
        if kind == directory_sync::core::ObjectKind::Memberships && !*done {
            self.emu.revoke_all_tokens();
            *done = true;
        }
    }
}

fn connector_with_key(
    emu: &dirsync_google_emulator::RunningEmulator,
    key: &str,
) -> GoogleConnector {
    connector(emu)
        .key_json(ServiceAccountKey::new(key))
        .retry(RetryConfig::immediate(1))
        .build()
        .unwrap()
}

fn everything() -> directory_sync::core::FetchRequest {
    directory_sync::core::FetchRequest::new(
        directory_sync::core::ObjectKinds::all(),
        directory_sync::core::ScopeFilter::everything(),
    )
}

fn settings_with(api_base: &str) -> GoogleSettings {
    let mut s = GoogleSettings::new(
        Email::new("admin@example.com").unwrap(),
        KeyReference::Named("k".into()),
        KeyOwnership::CustomerOwned,
    );
    s.api_base = Some(api_base.to_owned());
    s
}

#[test]
fn plain_http_endpoints_are_refused_unless_on_loopback() {
    let build = |base: &str| {
        GoogleConnectorBuilder::from_settings(&settings_with(base))
            .token_source(Arc::new(StaticTokenSource::new(["t"])))
            .build()
    };
    for loopback in [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:9",
        "http://localhost:1",
    ] {
        assert!(build(loopback).is_ok(), "{loopback}");
    }
    for remote in [
        "http://admin.googleapis.com",
        "http://192.168.1.10:8080",
        "http://0.0.0.0:80",
        "http://[::ffff:10.0.0.1]",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
    ] {
        let e = build(remote).unwrap_err();
        assert!(
            e.to_string()
                .contains("plain http:// to a non-loopback host"),
            "{remote}: {e}"
        );
    }
    assert!(build("https://admin.googleapis.com").is_ok());
    // The key's token_uri is held to the same rule (a JWT assertion is a credential).
    let key = ServiceAccount::test_default().key_json("http://oauth2.example.com/token");
    let e = GoogleConnector::builder()
        .subject(Email::new("admin@example.com").unwrap())
        .key_json(ServiceAccountKey::new(key))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("token_uri"), "{e}");
    assert_no_secret("builder error", &format!("{e} {e:?}"), &[]);
}
