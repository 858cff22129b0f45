//! Runs under way, as frontends see them: a run is listed from its start until its record is
//! written, with what its fetch has read so far; a rule started in the background answers its
//! id at once; a refused background run leaves its reason.

use std::sync::{Arc, Mutex};

use dirsync_core::{DirectionKind, Email, KeyOwnership, ObjectKind, RunOutcome, Schedule, Trigger};
use dirsync_google::{GoogleSettings, KeyReference};
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_service::{CreateGoogle, Error, LiveRun, NewRule, Progress, Registry, Service, Silent};
use dirsync_store::InMemoryStore;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Each progress event, with the live runs listed when it came.
type Seen = Arc<Mutex<Vec<(Progress, Vec<LiveRun>)>>>;

async fn active(
    service: &Service,
    google: &RunningEmulator,
    dir: &tempfile::TempDir,
) -> Result<dirsync_core::IntegrationId, Box<dyn std::error::Error>> {
    let key = dir.path().join("key.json");
    std::fs::write(&key, google.service_account_key_json())?;
    let mut settings = GoogleSettings::new(
        Email::new(google.admin_subject())?,
        KeyReference::File(key),
        KeyOwnership::CustomerOwned,
    );
    settings.api_base = Some(google.base_url());
    settings.quota_per_minute = 0;
    let created = service
        .create_google(CreateGoogle::new(
            "Acme",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await?;
    let id = created.integration.id();
    service.activate(id, &Silent).await?;
    Ok(id)
}

#[tokio::test]
async fn a_run_is_listed_with_its_pages_while_it_runs_and_not_after() -> TestResult {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 30))).await?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(Service::new(
        Arc::new(InMemoryStore::new()),
        Registry::builtin(),
    ));
    let id = active(&service, &google, &dir).await?;
    assert!(service.live_runs(None).is_empty());

    // What the live table says at each event, seen from inside the run.
    let seen: Seen = Arc::default();
    let sink = {
        let (seen, service) = (Arc::clone(&seen), Arc::clone(&service));
        move |e: Progress| {
            let live = service.live_runs(Some(id));
            seen.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((e, live));
        }
    };
    let run = service.sync(id, &sink).await?;
    let seen = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let (first, at_start) = seen.first().ok_or("no event")?;
    assert!(matches!(first, Progress::Started { .. }));
    assert_eq!(at_start.len(), 1);
    assert_eq!(
        at_start[0].run, run.id,
        "listed under the id its record gets"
    );
    assert_eq!(at_start[0].phase(), "starting");
    let users_page = seen
        .iter()
        .find_map(|(e, live)| match e {
            Progress::Fetched {
                kind: ObjectKind::Users,
                items,
                ..
            } => Some((*items, live.clone())),
            _ => None,
        })
        .ok_or("no users page")?;
    assert_eq!(
        users_page.1[0].fetched.get(&ObjectKind::Users),
        Some(&users_page.0)
    );
    assert_eq!(users_page.1[0].phase(), "reading users");
    // Another integration's runs are not listed under this one.
    assert!(
        service
            .live_runs(Some(dirsync_core::IntegrationId::random()))
            .is_empty()
    );
    // Over: no longer listed.
    assert!(service.live_runs(None).is_empty());
    Ok(())
}

#[tokio::test]
async fn a_rule_started_in_the_background_is_listed_at_once_then_recorded() -> TestResult {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 20))).await?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(Service::new(
        Arc::new(InMemoryStore::new()),
        Registry::builtin(),
    ));
    let id = active(&service, &google, &dir).await?;
    let rule = service
        .add_rule(
            id,
            NewRule::sync(
                "by hand",
                dirsync_core::ObjectKinds::all(),
                dirsync_core::ScopeFilter::everything(),
                Trigger::Manual,
            ),
        )
        .await?;

    let run = service.start_rule(id, rule.id).await?;
    let listed = service.live_runs(Some(id));
    assert_eq!(listed.len(), 1, "listed before the task is first polled");
    assert_eq!((listed[0].run, listed[0].rule), (run, Some(rule.id)));
    // Waits for the record (a notification would need a sink; the store is polled).
    // Listed until its record is written, then no longer (polled: the run is a task).
    let record = loop {
        // Read in this order: a run no longer listed has its record already.
        let listed = !service.live_runs(Some(id)).is_empty();
        let recorded = service.runs(id, 5).await?.into_iter().find(|r| r.id == run);
        match recorded {
            Some(r) if !listed => break r,
            None => assert!(listed, "neither listed nor recorded"),
            Some(_) => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert_eq!(record.outcome, RunOutcome::NoChange);
    assert_eq!(service.run_refusal(run), None);

    // Refused at once: an unknown rule, an inactive integration.
    assert!(matches!(
        service.start_rule(id, dirsync_core::RuleId::random()).await,
        Err(Error::UnknownRule { .. })
    ));
    service.deactivate(id).await?;
    assert!(matches!(
        service.start_rule(id, rule.id).await,
        Err(Error::WrongState { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_background_run_refused_by_another_runner_leaves_its_reason() -> TestResult {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 10))).await?;
    let dir = tempfile::tempdir()?;
    let service = Arc::new(Service::new(
        Arc::new(InMemoryStore::new()),
        Registry::builtin(),
    ));
    let id = active(&service, &google, &dir).await?;
    let rule = service.rules(id).await?.first().ok_or("no rule")?.id;
    // Another runner holds the integration.
    let now = chrono::Utc::now();
    service
        .store()
        .acquire_lease(id, "elsewhere:1", now + chrono::Duration::minutes(5), now)
        .await?;
    let run = service.start_rule(id, rule).await?;
    let why = loop {
        if let Some(why) = service.run_refusal(run)
            && service.live_runs(Some(id)).is_empty()
        {
            break why;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert!(why.contains("elsewhere:1"), "{why}");
    assert!(service.runs(id, 5).await?.iter().all(|r| r.id != run));
    Ok(())
}
