//! The token endpoint's answers as Google means them, end to end against the emulator: weather
//! (5xx, 429, an HTML page, a timeout) is retried within the retry budget and, if it outlasts
//! it, fails the fetch as a transient error naming the token endpoint; a refusal is reported at
//! once, without retries, as an authorization problem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use dirsync_core::{
    DirectorySource, Email, FetchRequest, NoProgress, ObjectKind, ObjectKinds, ScopeFilter,
};
use dirsync_google::{GoogleConnector, RetryConfig};
use dirsync_google::{ServiceAccountKey, scopes as google_scopes};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec, TokenFault};

const WEATHER: [TokenFault; 5] = [
    TokenFault::Status(500),
    TokenFault::Status(503),
    TokenFault::Status(429),
    TokenFault::Html,
    TokenFault::Timeout,
];

async fn emulator() -> RunningEmulator {
    Emulator::start(EmulatorConfig::new(TenantSpec::small(5)))
        .await
        .unwrap()
}

/// A connector whose token requests time out after 200 ms and whose retries (1 ms apart) may
/// take `budget` in all.
fn connector(emu: &RunningEmulator, budget: Duration) -> GoogleConnector {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .requests_per_minute(0)
        .token_timeout(Duration::from_millis(200))
        .retry(RetryConfig::immediate(100).with_budget(budget))
        .build()
        .unwrap()
}

fn users() -> FetchRequest {
    FetchRequest::new(
        ObjectKinds::new([ObjectKind::Users]).unwrap(),
        ScopeFilter::everything(),
    )
}

#[tokio::test]
async fn token_weather_is_retried_and_the_fetch_succeeds() {
    for kind in WEATHER {
        let emu = emulator().await;
        emu.fail_token_requests(2, kind);
        let fetched = connector(&emu, Duration::from_secs(60))
            .fetch(&users(), &NoProgress)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(!fetched.snapshot.users().is_empty(), "{kind:?}");
        let stats = emu.stats();
        assert_eq!(stats.token_faults_injected, 2, "{kind:?}");
        assert_eq!(stats.token_requests_refused, 0, "{kind:?}");
        assert!(fetched.stats.retries >= 2, "{kind:?}: {:?}", fetched.stats);
    }
}

#[tokio::test]
async fn token_weather_that_outlasts_the_budget_fails_the_fetch_as_transient() {
    for kind in WEATHER {
        let emu = emulator().await;
        emu.fail_token_requests(u64::MAX, kind);
        let err = connector(&emu, Duration::from_millis(30))
            .fetch(&users(), &NoProgress)
            .await
            .unwrap_err();
        match &err {
            dirsync_core::Error::Remote {
                transient: true,
                message,
                ..
            } => assert!(
                message.contains("the token endpoint is unavailable"),
                "{kind:?}: {message}"
            ),
            other => panic!("{kind:?}: expected a transient remote error, got {other:?}"),
        }
        assert!(emu.stats().token_faults_injected >= 1, "{kind:?}");
    }
}

#[tokio::test]
async fn a_refused_scope_is_an_authorization_problem_reported_without_retries() {
    let emu = emulator().await;
    emu.deny_scope(google_scopes::USER_READONLY);
    let err = connector(&emu, Duration::from_secs(60))
        .fetch(&users(), &NoProgress)
        .await
        .unwrap_err();
    match &err {
        dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason }) => {
            assert!(reason.contains(google_scopes::USER_READONLY), "{reason}");
            assert!(reason.contains("unauthorized_client"), "{reason}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(emu.stats().token_requests_refused, 1, "asked exactly once");
}

#[tokio::test]
async fn a_bad_subject_is_an_authorization_problem_naming_the_subject() {
    let emu = emulator().await;
    let stranger = "nobody@example.com";
    let connector = GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(stranger).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .requests_per_minute(0)
        .retry(RetryConfig::immediate(100))
        .build()
        .unwrap();
    let err = connector.fetch(&users(), &NoProgress).await.unwrap_err();
    assert!(
        matches!(&err, dirsync_core::Error::Access(dirsync_core::AccessDenied::Unauthorized { reason }) if reason.contains(stranger)),
        "{err:?}"
    );
    assert_eq!(emu.stats().token_requests_refused, 1, "asked exactly once");
}
