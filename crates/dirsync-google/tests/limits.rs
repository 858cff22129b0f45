//! Bounded (issue 12, point 5), against the emulator: a response body over the cap is a typed
//! error, never memory without bound; retries stop when the retry budget is spent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use dirsync_core::{
    DirectorySource, Email, FetchRequest, NoProgress, ObjectKind, ObjectKinds, ScopeFilter,
};
use dirsync_google::ServiceAccountKey;
use dirsync_google::{GoogleConnector, GoogleConnectorBuilder, RetryConfig};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};

fn builder(emu: &RunningEmulator) -> GoogleConnectorBuilder {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .requests_per_minute(0)
}

fn users() -> FetchRequest {
    FetchRequest::new(
        ObjectKinds::new([ObjectKind::Users]).unwrap(),
        ScopeFilter::everything(),
    )
}

#[tokio::test]
async fn a_body_over_the_cap_is_a_typed_error() {
    let emu = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 200)))
        .await
        .unwrap();
    let err = builder(&emu)
        .max_response_bytes(16 * 1024)
        .build()
        .unwrap()
        .fetch(&users(), &NoProgress)
        .await
        .unwrap_err();
    match &err {
        dirsync_core::Error::Remote {
            reason: Some(reason),
            transient: false,
            message,
            ..
        } => {
            assert_eq!(reason, "tooLarge");
            assert!(message.contains("16384"), "{message}");
        }
        other => panic!("expected tooLarge, got {other:?}"),
    }
    // The same fetch under the default cap succeeds.
    let fetched = builder(&emu)
        .build()
        .unwrap()
        .fetch(&users(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(fetched.snapshot.users().len(), 200);
}

#[tokio::test]
async fn retries_stop_when_the_budget_is_spent() {
    let emu = Emulator::start(EmulatorConfig::new(TenantSpec::small(4)))
        .await
        .unwrap();
    emu.fail_page("GET /admin/directory/v1/users", 0, 503);
    // Up to a thousand retries 5 ms apart, but 50 ms of waiting in all.
    let retry = RetryConfig::default()
        .with_budget(Duration::from_millis(50))
        .with_delays(Duration::from_millis(5), Duration::from_millis(5))
        .with_max_jitter(Duration::ZERO)
        .with_max_retries(1_000);
    let err = builder(&emu)
        .retry(retry)
        .build()
        .unwrap()
        .fetch(&users(), &NoProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            dirsync_core::Error::Remote {
                status: Some(503),
                transient: true,
                ..
            }
        ),
        "{err:?}"
    );
    // At most one attempt per 5 ms wait within 50 ms, plus the first.
    let asked = emu.stats().requests("GET /admin/directory/v1/users");
    assert!((1..=11).contains(&asked), "asked {asked} times");
}
