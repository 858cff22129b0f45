//! Bounded (issue 12, point 5), through the service: run records are kept within their
//! retention, and a removed integration's connector leaves the cache.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use dirsync_core::{DirectionKind, Email, IntegrationId, KeyOwnership, Schedule};
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_service::{CreateGoogle, Registry, RunRetention, Service, Silent};
use dirsync_sqlite::SqliteStore;

struct Fixture {
    google: RunningEmulator,
    connectors: GoogleKind,
    service: Service,
    dir: tempfile::TempDir,
}

async fn fixture(retention: RunRetention) -> Fixture {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(13, 20)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("key.json"),
        google.service_account_key_json(),
    )
    .unwrap();
    let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
    let connectors = GoogleKind::new();
    let service = Service::new(Arc::new(store), Registry::new().with(connectors.clone()))
        .with_run_retention(retention);
    Fixture {
        google,
        connectors,
        service,
        dir,
    }
}

async fn create(f: &Fixture, title: &str) -> IntegrationId {
    let mut settings = GoogleSettings::new(
        Email::new(f.google.admin_subject()).unwrap(),
        KeyReference::File(f.dir.path().join("key.json")),
        KeyOwnership::ProviderManaged,
    );
    settings.api_base = Some(f.google.base_url());
    settings.quota_per_minute = 0;
    let created = f
        .service
        .create_google(CreateGoogle::new(
            title,
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await
        .unwrap();
    created.integration.id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_records_are_kept_within_their_retention() {
    let f = fixture(RunRetention::new(3, Duration::days(90))).await;
    let id = create(&f, "Google").await;
    f.service.activate(id, &Silent).await.unwrap();
    for _ in 0..5 {
        f.service.sync(id, &Silent).await.unwrap();
    }
    let runs = f.service.runs(id, 100).await.unwrap();
    assert_eq!(runs.len(), 3, "the newest three runs are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_integration_leaves_the_connector_cache() {
    let f = fixture(RunRetention::default()).await;
    let first = create(&f, "first").await;
    let second = create(&f, "second").await;
    // A dry run builds (and caches) the connector before it finds the integrations staged.
    for id in [first, second] {
        assert!(f.service.dry_run(id, &Silent).await.is_err());
    }
    assert_eq!(f.connectors.cached(), 2);
    f.service.remove(second).await.unwrap();
    assert_eq!(f.connectors.cached(), 1);
    f.service.remove(first).await.unwrap();
    assert_eq!(f.connectors.cached(), 0);
}
