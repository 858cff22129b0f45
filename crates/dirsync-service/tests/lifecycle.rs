//! The whole lifecycle of a Google integration through the service, against the emulator:
//! create → activate without a granted scope (refused, named, still staged) → grant → activate
//! with the initial sync → tenant changes → the scheduler (manual rules never run) → a mass
//! removal held by a safeguard → approve → deactivate / reactivate → revoked authorization →
//! reauthorize → remove.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use dirsync_core::{
    DirectionKind, Email, IntegrationState, KeyOwnership, ObjectKind, ObjectKinds, RunOutcome,
    Schedule, ScopeFilter, TimeOfDay, Trigger, UserStatus,
};
use dirsync_google::RetryConfig;
use dirsync_google::{GoogleKind, GoogleSettings, KeyReference, scopes as google_scopes};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, OTHER_TEST_PRIVATE_KEY_PEM, RunningEmulator, ServiceAccount,
    TenantSpec,
};
use dirsync_service::{
    Action, CreateGoogle, Error, NewRule, Progress, Reauthorize, Registry, Service, Silent,
};

const CUSTOMER_SA: &str = "customer-sa@customer.iam.gserviceaccount.com";
use dirsync_sqlite::SqliteStore;

struct Fixture {
    google: RunningEmulator,
    service: Service,
    now: Arc<Mutex<DateTime<Utc>>>,
    key: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(users: usize) -> Self {
        let mut config = EmulatorConfig::new(TenantSpec::sized(11, users));
        // A second service account: the customer's own, for the switch from provider-managed.
        config.service_accounts.push(ServiceAccount::new(
            CUSTOMER_SA,
            "109876543210",
            OTHER_TEST_PRIVATE_KEY_PEM,
        ));
        let google = Emulator::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.json");
        std::fs::write(&key, google.service_account_key_json()).unwrap();
        let store = SqliteStore::open(dir.path().join("directory.db")).unwrap();
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        ));
        let clock = Arc::clone(&now);
        let connectors = GoogleKind::new().customize(|b| {
            b.retry(
                RetryConfig::default()
                    .with_max_retries(2)
                    .with_delays(
                        std::time::Duration::from_millis(1),
                        std::time::Duration::from_millis(5),
                    )
                    .with_max_jitter(std::time::Duration::ZERO),
            )
        });
        let service = Service::new(Arc::new(store), Registry::new().with(connectors))
            .with_clock(Arc::new(move || *clock.lock().unwrap()));
        Self {
            google,
            service,
            now,
            key,
            _dir: dir,
        }
    }

    fn settings(&self) -> GoogleSettings {
        let mut s = GoogleSettings::new(
            Email::new(self.google.admin_subject()).unwrap(),
            KeyReference::File(self.key.clone()),
            KeyOwnership::ProviderManaged,
        );
        s.api_base = Some(self.google.base_url());
        s.quota_per_minute = 0;
        s
    }

    fn set_now(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap() = t;
    }

    async fn status_of(&self, email: &str) -> UserStatus {
        self.service
            .store()
            .user_by_email(&Email::new(email).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{email} is not in the directory"))
            .status
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_of_an_inbound_integration() {
    let f = Fixture::new(60).await;
    let service = &f.service;

    // Create: staged, primary, with the admin's instructions.
    let created = service
        .create_google(CreateGoogle::new(
            "Google Workspace (example.com)",
            DirectionKind::Inbound,
            f.settings(),
            Schedule::daily(TimeOfDay::utc(2, 0).unwrap()),
        ))
        .await
        .unwrap();
    let id = created.integration.id();
    assert!(created.integration.is_primary());
    assert_eq!(*created.integration.state(), IntegrationState::Staged);
    let listed = created.instructions.scopes();
    let scopes: Vec<&str> = listed.iter().map(|s| s.as_str()).collect();
    for needed in [
        google_scopes::USER_READONLY,
        google_scopes::GROUP_READONLY,
        google_scopes::ORGUNIT_READONLY,
    ] {
        assert!(scopes.contains(&needed), "{needed} missing from {scopes:?}");
    }
    let dirsync_core::Grant::Scopes {
        client_id: Some(client_id),
        ..
    } = &created.instructions.grant
    else {
        panic!("Google asks for scopes: {:?}", created.instructions.grant);
    };
    assert!(!client_id.is_empty());
    let text = created.instructions.to_string();
    assert!(text.contains(client_id.as_str()));
    assert!(text.contains("Manage Domain Wide Delegation"), "{text}");
    assert!(text.contains(&created.instructions.scopes_csv()));
    assert_eq!(
        created.integration.record().rules.len(),
        1,
        "one default rule"
    );

    // Activate before the org-unit scope is granted: refused, named, still staged.
    f.google.deny_scope(google_scopes::ORGUNIT_READONLY);
    match service.activate(id, &Silent).await {
        Err(Error::Access(dirsync_core::AccessDenied::MissingScopes { scopes })) => {
            assert_eq!(scopes.len(), 1);
            assert_eq!(scopes[0].as_str(), google_scopes::ORGUNIT_READONLY);
        }
        other => panic!("expected MissingScopes, got {other:?}"),
    }
    assert_eq!(
        *service.integration(id).await.unwrap().state(),
        IntegrationState::Staged
    );
    assert!(service.store().users().await.unwrap().is_empty());

    // Grant it, activate: authorization recorded, initial sync with progress.
    f.google.allow_scope(google_scopes::ORGUNIT_READONLY);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = Arc::clone(&events);
        move |e: Progress| events.lock().unwrap().push(e)
    };
    let activated = service.activate(id, &sink).await.unwrap();
    assert_eq!(*activated.integration.state(), IntegrationState::Active);
    let auth = activated
        .integration
        .record()
        .authorization
        .clone()
        .unwrap();
    assert_eq!(
        auth.subject.as_ref().map(|s| s.as_str()),
        Some(f.google.admin_subject().as_str())
    );
    assert_eq!(auth.ownership, Some(KeyOwnership::ProviderManaged));
    // The three it needs, and the optional Reports scope (push then also polls groups).
    assert_eq!(auth.scopes.len(), 4);
    assert!(
        auth.scopes
            .iter()
            .any(|s| s.as_str() == dirsync_google::scopes::REPORTS_AUDIT_READONLY)
    );
    let initial = activated.initial_run.unwrap();
    assert_eq!(initial.outcome, RunOutcome::Succeeded);
    let live = f.google.tenant().live_users().count();
    assert_eq!(service.store().users().await.unwrap().len(), live);
    {
        let events = events.lock().unwrap();
        assert!(matches!(events.first(), Some(Progress::Started { .. })));
        assert!(matches!(events.last(), Some(Progress::Finished { .. })));
        let users_fetched = events
            .iter()
            .filter_map(|e| match e {
                Progress::Fetched {
                    kind: ObjectKind::Users,
                    items,
                    ..
                } => Some(*items),
                _ => None,
            })
            .max()
            .unwrap();
        assert!(users_fetched >= live as u64);
    }

    // Tenant changes: one user leaves, one is suspended, a membership changes.
    let tenant = f.google.tenant();
    let mut people = tenant.live_users().filter(|u| !u.is_admin && !u.suspended);
    let leaver = people.next().unwrap().primary_email.clone();
    let suspended = people.next().unwrap().primary_email.clone();
    let joiner = people.next().unwrap().primary_email.clone();
    let group = tenant
        .groups()
        .iter()
        .find(|g| {
            !g.members
                .iter()
                .any(|m| m.email.as_deref() == Some(joiner.as_str()))
        })
        .unwrap()
        .email
        .clone();
    f.google.remove_user(&leaver).unwrap();
    f.google.suspend_user(&suspended).unwrap();
    f.google
        .add_member(&group, &joiner, dirsync_google_emulator::Role::Member)
        .unwrap();

    // A dry run shows it and writes nothing.
    let plan = service.dry_run(id, &Silent).await.unwrap();
    assert!(!plan.is_empty());
    assert_eq!(f.status_of(&leaver).await, UserStatus::Active);
    let explained = service.explain(&plan).await.unwrap();
    let has = |action: Action, subject: &str| {
        explained
            .iter()
            .any(|c| c.action == action && c.subject.eq_ignore_ascii_case(subject))
    };
    assert!(has(Action::DeprovisionUser, &leaver), "{explained:#?}");
    assert!(has(Action::SuspendUser, &suspended), "{explained:#?}");
    assert!(
        explained.iter().any(|c| c.action == Action::AddMember
            && c.subject.eq_ignore_ascii_case(&joiner)
            && c.detail.contains(&group)),
        "{explained:#?}"
    );

    // The scheduler: a manual rule is never run by run_due; the scheduled default rule is.
    let manual = service
        .add_rule(
            id,
            NewRule::sync(
                "Users on demand",
                ObjectKinds::only(ObjectKind::Users),
                ScopeFilter::everything(),
                Trigger::Manual,
            ),
        )
        .await
        .unwrap();
    let before_due = Utc.with_ymd_and_hms(2026, 11, 3, 1, 59, 0).unwrap();
    f.set_now(before_due);
    assert!(
        service
            .run_due(before_due, &Silent)
            .await
            .unwrap()
            .is_empty()
    );
    let due_at = Utc.with_ymd_and_hms(2026, 11, 3, 2, 0, 0).unwrap();
    f.set_now(due_at);
    let ran = service.run_due(due_at, &Silent).await.unwrap();
    assert_eq!(ran.len(), 1, "only the scheduled rule runs");
    assert_ne!(ran[0].rule, manual.id);
    let run = ran[0].result.as_ref().unwrap();
    assert_eq!(run.outcome, RunOutcome::Succeeded, "{run:?}");
    assert_eq!(f.status_of(&leaver).await, UserStatus::Deprovisioned);
    assert_eq!(f.status_of(&suspended).await, UserStatus::Suspended);
    // It ran at 02:00; not due again until tomorrow.
    assert!(
        service
            .run_due(due_at + Duration::hours(23), &Silent)
            .await
            .unwrap()
            .is_empty()
    );
    // The manual rule runs when asked.
    let manual_run = service.run_rule(id, manual.id, &Silent).await.unwrap();
    assert_eq!(manual_run.rule, Some(manual.id));
    assert_eq!(manual_run.outcome, RunOutcome::NoChange);
    // Runs of one integration reuse its connector: no new token is issued.
    let tokens = f.google.stats().tokens_issued;
    service.sync(id, &Silent).await.unwrap();
    assert_eq!(f.google.stats().tokens_issued, tokens);

    // A mass removal is held by the users safeguard; nothing changes until approved.
    let leavers: Vec<String> = f
        .google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(12)
        .map(|u| u.primary_email.clone())
        .collect();
    for l in &leavers {
        f.google.remove_user(l).unwrap();
    }
    let held = service.sync(id, &Silent).await.unwrap();
    let RunOutcome::Held { plan } = held.outcome else {
        panic!("expected a held run, got {:?}", held.outcome);
    };
    assert_eq!(service.held_plans(id).await.unwrap().len(), 1);
    assert_eq!(f.status_of(&leavers[0]).await, UserStatus::Active);
    let approved = service.approve(&plan).await.unwrap();
    assert_eq!(approved.outcome, RunOutcome::Succeeded);
    for l in &leavers {
        assert_eq!(f.status_of(l).await, UserStatus::Deprovisioned, "{l}");
    }
    assert!(service.held_plans(id).await.unwrap().is_empty());
    let runs = service.runs(id, 100).await.unwrap();
    assert!(runs.len() >= 5, "{} runs", runs.len());

    // Deactivate: the scheduler leaves it alone; reactivate.
    service.deactivate(id).await.unwrap();
    let tomorrow = due_at + Duration::days(1);
    f.set_now(tomorrow);
    assert!(service.run_due(tomorrow, &Silent).await.unwrap().is_empty());
    assert!(service.sync(id, &Silent).await.is_err());
    service.reactivate(id).await.unwrap();

    // A revoked delegation fails the run and the integration, until it is reauthorized.
    // Tokens already issued are revoked too (Google's stay valid until they expire; the
    // connector keeps its tokens between runs).
    f.google.deny_subject(&f.google.admin_subject());
    f.google.revoke_subject_tokens(&f.google.admin_subject());
    let failed = service.sync(id, &Silent).await.unwrap();
    assert!(matches!(failed.outcome, RunOutcome::Failed { .. }));
    assert!(matches!(
        service.integration(id).await.unwrap().state(),
        IntegrationState::Failed { .. }
    ));
    let refused = service.reauthorize(id, Reauthorize::default()).await;
    // Google answers a removed delegation with `unauthorized_client` for every scope.
    match refused {
        Err(Error::Access(dirsync_core::AccessDenied::MissingScopes { scopes })) => {
            assert_eq!(scopes.len(), 3)
        }
        other => panic!("expected every scope missing, got {other:?}"),
    }
    assert!(matches!(
        service.integration(id).await.unwrap().state(),
        IntegrationState::Failed { .. }
    ));
    f.google.allow_subject(&f.google.admin_subject());
    // The provider-managed service account is replaced by a customer-owned one.
    let customer_key = f._dir.path().join("customer-key.json");
    std::fs::write(
        &customer_key,
        f.google.service_account_key_json_for(CUSTOMER_SA).unwrap(),
    )
    .unwrap();
    let reauthorized = service
        .reauthorize(
            id,
            Reauthorize::default()
                .with_key(KeyReference::File(customer_key))
                .with_ownership(KeyOwnership::CustomerOwned),
        )
        .await
        .unwrap();
    assert_eq!(*reauthorized.state(), IntegrationState::Active);
    let auth = reauthorized.record().authorization.clone().unwrap();
    assert_eq!(auth.ownership, Some(KeyOwnership::CustomerOwned));
    assert_eq!(
        auth.client_email.as_ref().map(|e| e.as_str()),
        Some(CUSTOMER_SA)
    );
    assert_eq!(auth.client_id.as_deref(), Some("109876543210"));
    assert_eq!(
        service.sync(id, &Silent).await.unwrap().outcome,
        RunOutcome::NoChange
    );

    // Remove: the primary owns the directory and is refused; a secondary goes with its data.
    assert!(matches!(
        service.remove(id).await,
        Err(Error::Store(dirsync_store::Error::PrimaryOwnsData { .. }))
    ));
    let second = service
        .create_google(CreateGoogle::new(
            "Second look at the same tenant",
            DirectionKind::Inbound,
            f.settings(),
            Schedule::Manual,
        ))
        .await
        .unwrap();
    assert!(!second.integration.is_primary());
    let second_id = second.integration.id();
    let first_run = service
        .activate(second_id, &Silent)
        .await
        .unwrap()
        .initial_run
        .unwrap();
    assert_eq!(first_run.outcome, RunOutcome::Succeeded);
    let removed = service.remove(second_id).await.unwrap();
    assert!(removed.accounts > 0);
    assert!(service.integration(second_id).await.is_err());
    assert_eq!(service.integrations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_key_that_cannot_be_read_is_refused_before_anything_is_stored() {
    let f = Fixture::new(5).await;
    let mut settings = f.settings();
    if let dirsync_google::Credential::ServiceAccount { key, .. } = &mut settings.credential {
        *key = KeyReference::File(f._dir.path().join("missing.json"));
    }
    let result = f
        .service
        .create_google(CreateGoogle::new(
            "Broken",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await;
    assert!(
        matches!(result, Err(Error::Credential { .. })),
        "{result:?}"
    );
    std::fs::write(
        f._dir.path().join("bad.json"),
        "{\"type\": \"service_account\"}",
    )
    .unwrap();
    let mut settings = f.settings();
    if let dirsync_google::Credential::ServiceAccount { key, .. } = &mut settings.credential {
        *key = KeyReference::File(f._dir.path().join("bad.json"));
    }
    let result = f
        .service
        .create_google(CreateGoogle::new(
            "Broken",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await;
    assert!(
        matches!(result, Err(Error::Credential { .. })),
        "{result:?}"
    );
    assert!(f.service.integrations().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unknown_rule_is_named_and_a_staged_integration_never_syncs() {
    let f = Fixture::new(5).await;
    let created = f
        .service
        .create_google(CreateGoogle::new(
            "Staged",
            DirectionKind::Inbound,
            f.settings(),
            Schedule::daily(TimeOfDay::utc(0, 0).unwrap()),
        ))
        .await
        .unwrap();
    let id = created.integration.id();
    let far = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    assert!(f.service.run_due(far, &Silent).await.unwrap().is_empty());
    assert!(f.service.sync(id, &Silent).await.is_err());
    let unknown = dirsync_core::RuleId::random();
    assert!(matches!(
        f.service.run_rule(id, unknown, &Silent).await,
        Err(Error::UnknownRule { .. })
    ));
    assert!(matches!(
        f.service.remove_rule(id, unknown).await,
        Err(Error::UnknownRule { .. })
    ));
    let default_rule = f.service.rules(id).await.unwrap()[0].id;
    f.service.remove_rule(id, default_rule).await.unwrap();
    assert!(f.service.rules(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn no_key_material_or_token_in_the_debug_output_of_service_values() {
    let f = Fixture::new(5).await;
    let connectors = GoogleKind::new();
    let created = f
        .service
        .create_google(CreateGoogle::new(
            "Debug",
            DirectionKind::Inbound,
            f.settings(),
            Schedule::Manual,
        ))
        .await
        .unwrap();
    let activated = f
        .service
        .activate(created.integration.id(), &Silent)
        .await
        .unwrap();
    let settings = created.integration.settings().clone();
    use dirsync_core::ConnectorKind;
    let connection = connectors
        .connect(&dirsync_core::ConnectRequest::new(
            created.integration.id(),
            DirectionKind::Inbound,
            &settings,
            &dirsync_core::ObjectKinds::all(),
        ))
        .unwrap();
    let rendered = [
        format!("{:?}", f.service),
        format!("{created:?}"),
        format!("{activated:?}"),
        format!("{connectors:?}"),
        format!("{connection:?}"),
        created.instructions.to_string(),
    ]
    .join("\n");
    let key = dirsync_google_emulator::TEST_PRIVATE_KEY_PEM;
    for line in key.lines().filter(|l| l.len() > 20) {
        assert!(!rendered.contains(line), "key material in debug output");
    }
    for needle in ["PRIVATE KEY", "ya29.", "eyJ"] {
        assert!(!rendered.contains(needle), "{needle} in debug output");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_loop_runs_due_rules_until_shutdown_and_finishes_its_round() {
    let f = Fixture::new(30).await;
    let every = dirsync_core::Interval::from_minutes(15).unwrap();
    let created = f
        .service
        .create_google(CreateGoogle::new(
            "Every 15 minutes",
            DirectionKind::Inbound,
            f.settings(),
            Schedule::every(every),
        ))
        .await
        .unwrap();
    let id = created.integration.id();
    f.service.activate(id, &Silent).await.unwrap();
    let runs = || async { f.service.runs(id, 100).await.unwrap().len() };
    assert_eq!(runs().await, 1, "the initial sync");

    // 09:10: nothing due before 09:15 — two ticks, no run; shut down.
    f.set_now(Utc.with_ymd_and_hms(2026, 11, 2, 9, 10, 0).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = &f.service;
    let looping = service.run_scheduler(
        std::time::Duration::from_millis(20),
        async {
            let _ = stopped.await;
        },
        &Silent,
    );
    let stopper = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = stop.send(());
    };
    tokio::join!(looping, stopper);
    assert_eq!(runs().await, 1, "nothing was due");

    // 09:15: due; the loop runs it once (the next grid point is 09:30), and a shutdown asked
    // while the round runs lets it finish.
    f.set_now(Utc.with_ymd_and_hms(2026, 11, 2, 9, 15, 0).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let looping = service.run_scheduler(
        std::time::Duration::from_millis(20),
        async {
            let _ = stopped.await;
        },
        &Silent,
    );
    let stopper = async {
        // Ask to stop as soon as the round has started (the run's lease is taken).
        while runs().await < 2 && f.service.store().primary().await.is_ok() {
            if f.google.stats().requests_total > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        let _ = stop.send(());
    };
    f.google.reset_stats();
    tokio::join!(looping, stopper);
    let all = f.service.runs(id, 100).await.unwrap();
    assert_eq!(all.len(), 2, "one scheduled run, finished, not cut short");
    assert!(
        matches!(all[0].outcome, RunOutcome::NoChange | RunOutcome::Succeeded),
        "{:?}",
        all[0].outcome
    );
}
