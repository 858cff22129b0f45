//! Failures stay visible (issue 12, point 3), through the service against the emulator: a
//! failed scheduled run is retried after 5, then 15 minutes (not a whole day); the status
//! report names the failure, the retry and held plans; the notifier hears of the failure, the
//! held plan and the recovery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use dirsync_core::{
    DirectionKind, Email, IntegrationState, KeyOwnership, RunOutcome, Schedule, TimeOfDay,
};
use dirsync_google::RetryConfig;
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference};
use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};
use dirsync_service::{CreateGoogle, Notification, Notifier, Registry, Service, Silent};
use dirsync_sqlite::SqliteStore;

#[derive(Default)]
struct Recorder(Mutex<Vec<Notification>>);

#[async_trait]
impl Notifier for Recorder {
    async fn notify(&self, event: &Notification) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, h, m, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_runs_are_retried_with_backoff_reported_and_notified() {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(12, 60)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
    let now = Arc::new(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    ));
    let clock = Arc::clone(&now);
    let set_now = |t: DateTime<Utc>| *now.lock().unwrap() = t;
    let connectors = GoogleKind::new().customize(|b| b.retry(RetryConfig::immediate(1)));
    let recorder = Arc::new(Recorder::default());
    let service = Service::new(Arc::new(store), Registry::new().with(connectors))
        .with_clock(Arc::new(move || *clock.lock().unwrap()))
        .with_notifier(recorder.clone());
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject()).unwrap(),
        KeyReference::File(key),
        KeyOwnership::ProviderManaged,
    );
    settings.api_base = Some(google.base_url());
    settings.quota_per_minute = 0;
    let created = service
        .create_google(CreateGoogle::new(
            "Google",
            DirectionKind::Inbound,
            settings,
            Schedule::daily(TimeOfDay::utc(2, 0).unwrap()),
        ))
        .await
        .unwrap();
    let id = created.integration.id();
    service.activate(id, &Silent).await.unwrap();
    let report = service.status().await.unwrap();
    assert_eq!((report.failing(), report.held()), (0, 0));
    assert_eq!(report.integrations[0].next_run, Some(at(2, 0)));
    recorder.take();

    // 02:00: Google answers 503 to everything; the run fails, the integration stays active.
    google.set_error_rate(1.0);
    set_now(at(2, 0));
    let ran = service.run_due(at(2, 0), &Silent).await.unwrap();
    assert!(matches!(
        ran[0].result.as_ref().unwrap().outcome,
        RunOutcome::Failed { .. }
    ));
    let events = recorder.take();
    assert!(
        matches!(
            &events[..],
            [Notification::Failed {
                integration_failed: false,
                ..
            }]
        ),
        "{events:?}"
    );
    let report = service.status().await.unwrap();
    let status = &report.integrations[0];
    assert_eq!(report.failing(), 1);
    assert!(status.last_run_failed && status.last_failure.is_some());
    assert_eq!(status.state, IntegrationState::Active);
    assert_eq!(status.next_run, Some(at(2, 5)), "retried after 5 minutes");
    // Not before the retry; at 02:05 it runs again, fails again, and backs off to 15 minutes.
    assert!(service.run_due(at(2, 4), &Silent).await.unwrap().is_empty());
    set_now(at(2, 5));
    assert_eq!(service.run_due(at(2, 5), &Silent).await.unwrap().len(), 1);
    let report = service.status().await.unwrap();
    assert_eq!(report.integrations[0].next_run, Some(at(2, 20)));
    assert!(
        service
            .run_due(at(2, 19), &Silent)
            .await
            .unwrap()
            .is_empty()
    );
    // Google is back: the 02:20 retry succeeds, the notifier hears of the recovery, and the
    // next run is tomorrow's.
    google.set_error_rate(0.0);
    recorder.take();
    set_now(at(2, 20));
    let ran = service.run_due(at(2, 20), &Silent).await.unwrap();
    assert!(!matches!(
        ran[0].result.as_ref().unwrap().outcome,
        RunOutcome::Failed { .. }
    ));
    let events = recorder.take();
    assert!(
        matches!(&events[..], [Notification::Recovered { .. }]),
        "{events:?}"
    );
    let report = service.status().await.unwrap();
    assert_eq!(report.failing(), 0);
    assert_eq!(
        report.integrations[0].next_run,
        Some(at(2, 0) + Duration::days(1))
    );

    // A mass removal is held: the report and the notifier say so.
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
    let held = service.sync(id, &Silent).await.unwrap();
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("{held:?}")
    };
    let events = recorder.take();
    assert!(
        matches!(&events[..], [Notification::Held { plan: p, .. }] if *p == plan),
        "{events:?}"
    );
    let report = service.status().await.unwrap();
    assert_eq!((report.failing(), report.held()), (0, 1));
    assert_eq!(report.integrations[0].held_plans[0].plan, plan);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["integrations"][0]["state"], "active");
    assert_eq!(
        json["integrations"][0]["held_plans"][0]["plan"],
        plan.to_string()
    );

    // A revoked grant fails the integration: the event says so.
    google.deny_subject(&google.admin_subject());
    google.revoke_all_tokens();
    let failed = service.sync(id, &Silent).await.unwrap();
    assert!(matches!(failed.outcome, RunOutcome::Failed { .. }));
    let events = recorder.take();
    assert!(
        matches!(
            &events[..],
            [Notification::Failed {
                integration_failed: true,
                ..
            }]
        ),
        "{events:?}"
    );
    let report = service.status().await.unwrap();
    assert!(matches!(
        report.integrations[0].state,
        IntegrationState::Failed { .. }
    ));
    assert_eq!(report.integrations[0].next_run, None);
    assert_eq!(report.failing(), 1);
}
