//! Google push end to end (issue 19): `PATCH {"push": true}` opens a channel in the emulated
//! tenant to `/hooks/google/{id}`; a forged notification is refused and triggers nothing; a
//! user suspended (then deleted) in the tenant reaches the directory through push alone; a lost
//! notification is caught by the backstop full sync, which then finds nothing push missed;
//! channels are replaced with no gap; a storm is one full sync; two workers open one channel;
//! memberships reach the directory by polling the Reports API alone (once each, after its lag,
//! and the backstop agrees), and nothing polls without the Reports scope; a pushed suspension
//! reaches an outbound tenant with no scheduled run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use dirsync_core::{Email, IntegrationId, UserStatus};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, PushDelivery, RunningEmulator, TenantSpec,
};
use dirsync_server::{AppState, router};
use dirsync_service::{ChannelChange, PushSettings, Registry, Service};
use dirsync_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Api, schema};

/// The API with push settings pointing at itself, over a SQLite file, and a small tenant.
async fn start(
    dir: &std::path::Path,
    push: impl Fn(String) -> PushSettings,
) -> (RunningEmulator, Api) {
    let mut config = EmulatorConfig::new(TenantSpec::sized(19, 30));
    config.push = PushDelivery::default().with_retries(3, Duration::from_millis(10));
    let google = Emulator::start(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let store = SqliteStore::open(dir.join("directory.db")).unwrap();
    let service =
        Arc::new(Service::new(Arc::new(store), Registry::builtin()).with_push(push(base.clone())));
    let token = service.create_api_token("admin", false).await.unwrap();
    let key = dir.join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let app = router(AppState::new(Arc::clone(&service)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let token = token.secret.expose_secret().to_owned();
    let doc = http
        .get(format!("{base}/api/v1/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let spec = schema::Spec(doc.json().await.unwrap());
    let api = Api {
        base,
        http,
        token,
        service,
        key,
        spec,
    };
    (google, api)
}

fn quick(base: String) -> PushSettings {
    PushSettings::new(base).with_coalesce(Duration::from_millis(50))
}

async fn push_on(api: &Api, id: &str) {
    let shown = api
        .send(
            Method::PATCH,
            &format!("/api/v1/integrations/{id}"),
            Some(json!({"push": true})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(shown["push"], true);
}

async fn status_of(api: &Api, email: &str) -> Option<UserStatus> {
    api.service
        .store()
        .user_by_email(&Email::new(email).unwrap())
        .await
        .unwrap()
        .map(|u| u.status)
}

/// Polls until `email` has `want` in the directory (at most 10 s).
async fn until_status(api: &Api, email: &str, want: UserStatus) {
    for _ in 0..1000 {
        if status_of(api, email).await == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{email} never became {want:?}: {:?}",
        status_of(api, email).await
    );
}

async fn runs(api: &Api, id: &str) -> Vec<dirsync_core::SyncRun> {
    api.service
        .runs(IntegrationId::parse(id).unwrap(), 100)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_reaches_the_directory_through_push_and_a_forged_notification_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path(), quick).await;
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let channels = google.watch_channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(
        channels[0].address,
        format!("{}/hooks/google/{id}", api.base)
    );
    let channel = channels[0].clone();
    let before = runs(&api, &id).await.len();

    // Forged: the right channel and resource ids, a wrong token. And a stale channel id.
    let ada = google
        .tenant()
        .live_users()
        .find(|u| !u.is_admin)
        .unwrap()
        .clone();
    for (channel_id, token) in [(channel.id.as_str(), "guessed"), ("old-channel", "guessed")] {
        let r = api
            .http
            .post(format!("{}/hooks/google/{id}", api.base))
            .header("X-Goog-Channel-ID", channel_id)
            .header("X-Goog-Channel-Token", token)
            .header("X-Goog-Resource-ID", &channel.resource_id)
            .header("X-Goog-Resource-State", "delete")
            .json(&json!({"id": ada.id}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status_of(&api, &ada.primary_email).await,
        Some(UserStatus::Active)
    );
    assert_eq!(runs(&api, &id).await.len(), before, "nothing was triggered");

    // A real suspension: through push alone (no scheduled run, no sync asked).
    google.suspend_user(&ada.id).unwrap();
    until_status(&api, &ada.primary_email, UserStatus::Suspended).await;
    let all = runs(&api, &id).await;
    assert!(all.len() > before);
    assert!(
        all[..all.len() - before]
            .iter()
            .all(|r| r.counts.get("pushes") == Some(&1))
    );
    let stored = api
        .service
        .store()
        .push_channels(IntegrationId::parse(&id).unwrap())
        .await
        .unwrap();
    assert!(stored[0].last_notification.is_some());
    assert!(stored[0].last_message.is_some());

    let noted = stored[0].last_notification;

    // A deletion Google confirms (users.get answers 404).
    google.remove_user(&ada.id).unwrap();
    until_status(&api, &ada.primary_email, UserStatus::Deprovisioned).await;
    let stored = api
        .service
        .store()
        .push_channels(IntegrationId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored[0].last_notification, noted,
        "the last notification is written at most every few seconds, not per notification"
    );

    // Push off: the channel is stopped.
    api.send(
        Method::PATCH,
        &format!("/api/v1/integrations/{id}"),
        Some(json!({"push": false})),
        StatusCode::OK,
    )
    .await;
    assert!(google.watch_channels()[0].stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_is_caught_by_the_backstop_sync_which_agrees_with_push() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path(), quick).await;
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let mut users = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin)
        .cloned()
        .collect::<Vec<_>>()
        .into_iter();
    let (pushed, lost) = (users.next().unwrap(), users.next().unwrap());
    google.suspend_user(&pushed.id).unwrap();
    until_status(&api, &pushed.primary_email, UserStatus::Suspended).await;

    google.set_push_delivery(PushDelivery::default().with_drop_rate(1.0));
    google.suspend_user(&lost.id).unwrap();
    for _ in 0..100 {
        if google.notifications().iter().any(|n| n.user_id == lost.id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        status_of(&api, &lost.primary_email).await,
        Some(UserStatus::Active)
    );

    let run = api.sync(&id).await;
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert_eq!(
        status_of(&api, &lost.primary_email).await,
        Some(UserStatus::Suspended)
    );
    // The backstop found exactly the lost change: what push reached, it left alone.
    assert_eq!(run["counts"], json!({"users_suspended": 1}), "{run}");
    let again = api.sync(&id).await;
    assert!(
        again["counts"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.as_u64() == Some(0)),
        "a second full sync changes nothing: {again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_near_expiry_is_replaced_with_no_gap_and_two_workers_open_one() {
    let dir = tempfile::tempdir().unwrap();
    // Every channel is "near expiry" (renew 7 h before a 6 h life): each upkeep replaces it.
    let (google, api) = start(dir.path(), |base| {
        quick(base).with_ttl(chrono::Duration::hours(6), chrono::Duration::hours(7))
    })
    .await;
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let first = google.watch_channels()[0].clone();
    let changes = api.service.keep_push_channels().await.unwrap();
    assert!(
        matches!(&changes[..], [ChannelChange::Opened(new), ChannelChange::Stopped(old)]
        if new.id != first.id && old.id == first.id),
        "opened before stopped: {changes:?}"
    );
    let channels = google.watch_channels();
    assert_eq!(channels.len(), 2);
    assert!(channels[0].stopped && !channels[1].stopped);

    // Push off (the channel stopped), then on again in the store alone: the next upkeep opens.
    let integration = IntegrationId::parse(&id).unwrap();
    let mut any = api.service.set_push(integration, false).await.unwrap();
    assert!(google.watch_channels().iter().all(|c| c.stopped));
    any.set_push(true);
    api.service.store().save_integration(&any).await.unwrap();

    // Two workers on one store, at once: one opens a channel, the other finds it (or the lease).
    let other = Arc::new(
        Service::new(Arc::clone(api.service.store()), Registry::builtin())
            .with_holder("worker-2")
            .with_push(PushSettings::new(api.base.clone())),
    );
    let one = Arc::new(
        Service::new(Arc::clone(api.service.store()), Registry::builtin())
            .with_holder("worker-1")
            .with_push(PushSettings::new(api.base.clone())),
    );
    let (a, b) = tokio::join!(one.keep_push_channels(), other.keep_push_channels());
    let opened = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .filter(|c| matches!(c, ChannelChange::Opened(_)))
        .count();
    assert_eq!(opened, 1);
    let live = google
        .watch_channels()
        .into_iter()
        .filter(|c| !c.stopped && c.expiration > chrono::Utc::now())
        .count();
    assert_eq!(live, 1);
    let stored = api
        .service
        .store()
        .push_channels(IntegrationId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_notifications_is_one_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path(), |base| {
        PushSettings::new(base)
            .with_coalesce(Duration::from_millis(400))
            .with_storm(1)
    })
    .await;
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let before = runs(&api, &id).await.len();
    let victims: Vec<_> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin)
        .take(2)
        .cloned()
        .collect();
    google.with_tenant(|t| {
        for u in &victims {
            t.set_suspended(&u.id, true).unwrap();
        }
    });
    for u in &victims {
        until_status(&api, &u.primary_email, UserStatus::Suspended).await;
    }
    // The run is recorded once it applied: wait for its record (bounded).
    let mut all = runs(&api, &id).await;
    for _ in 0..500 {
        if all.len() > before && all[0].outcome == dirsync_core::RunOutcome::Succeeded {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        all = runs(&api, &id).await;
    }
    let new = &all[..all.len() - before];
    assert_eq!(new.len(), 1, "one full sync, not two pushes: {new:?}");
    assert_eq!(new[0].counts.get("pushes"), None);
}

const REPORTS: &str = "https://www.googleapis.com/auth/admin.reports.audit.readonly";

/// The directory's memberships of `group` (by its Google id): member ids.
async fn members_of(api: &Api, id: &str, group: &str) -> Vec<String> {
    let view = api
        .service
        .store()
        .view(IntegrationId::parse(id).unwrap())
        .await
        .unwrap();
    let mut m: Vec<String> = view
        .memberships
        .iter()
        .filter(|m| m.group.as_str() == group)
        .map(|m| m.member.external_id.as_str().to_owned())
        .collect();
    m.sort();
    m
}

fn polling(base: String) -> PushSettings {
    // Every tick polls; windows overlap by a minute.
    quick(base).with_polling(Duration::ZERO, chrono::Duration::minutes(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_reach_the_directory_by_polling_alone_once_each_and_the_backstop_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path(), polling).await;
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let integration = IntegrationId::parse(&id).unwrap();
    let status = api.get("/api/v1/status").await;
    let push = &status["integrations"][0]["push"];
    assert_eq!(push["polls_groups"], true, "{status}");
    assert!(push["note"].is_null());
    let before = runs(&api, &id).await.len();

    let t = google.tenant();
    let user = dirsync_google_emulator::MemberType::User;
    let outside = |g: &dirsync_google_emulator::Group| {
        t.live_users()
            .find(|u| !u.is_admin && g.members.iter().all(|m| m.id != u.id))
            .cloned()
    };
    let group = t
        .groups()
        .iter()
        .find(|g| g.members.iter().any(|m| m.member_type == user) && outside(g).is_some())
        .unwrap()
        .clone();
    let newcomer = outside(&group).unwrap();
    let leaver = group
        .members
        .iter()
        .find(|m| m.member_type == user)
        .unwrap()
        .clone();
    google
        .add_member(
            &group.email,
            &newcomer.primary_email,
            dirsync_google_emulator::Role::Member,
        )
        .unwrap();
    google.remove_member(&group.email, &leaver.id).unwrap();
    // Both activities name one group: one re-read (in each application, one id each).
    let polled = api.service.poll_activities(integration).await.unwrap();
    assert_eq!((polled.groups, polled.changed), (1, 1), "{polled:?}");
    assert_eq!(polled.new, polled.read);
    let members = members_of(&api, &id, &group.id).await;
    assert!(members.contains(&newcomer.id) && !members.contains(&leaver.id));

    // The next window overlaps this one: the same activities come again, and are not applied.
    let again = api.service.poll_activities(integration).await.unwrap();
    assert_eq!(
        (again.read, again.new, again.groups),
        (polled.read, 0, 0),
        "{again:?}"
    );

    // A lag: the activity is not visible yet, so nothing changes; once it shows (within the
    // overlap), the next poll applies it.
    google.set_reports_lag(Duration::from_secs(3600));
    google.remove_member(&group.email, &newcomer.id).unwrap();
    let early = api.service.poll_activities(integration).await.unwrap();
    assert_eq!(early.groups, 0, "{early:?}");
    assert!(
        members_of(&api, &id, &group.id)
            .await
            .contains(&newcomer.id)
    );
    google.set_reports_lag(Duration::ZERO);
    let late = api.service.poll_activities(integration).await.unwrap();
    assert_eq!((late.groups, late.changed), (1, 1), "{late:?}");
    assert!(
        !members_of(&api, &id, &group.id)
            .await
            .contains(&newcomer.id)
    );

    // A deleted group is deleted on Google's word (groups.get answers 404), by the upkeep's poll.
    google.remove_group(&group.email).unwrap();
    api.service.keep_push_channels().await.unwrap();
    let view = api.service.store().view(integration).await.unwrap();
    assert!(
        view.groups
            .iter()
            .all(|g| g.external_id.as_str() != group.id)
    );

    // All of it by polling: every run since is a push, none a full sync.
    let all = runs(&api, &id).await;
    assert!(
        all[..all.len() - before]
            .iter()
            .all(|r| r.counts.get("pushes") == Some(&1)),
        "{all:?}"
    );
    let status = api.get("/api/v1/status").await;
    let push = &status["integrations"][0]["push"];
    assert!(push["activities"].as_u64().unwrap() >= 4, "{status}");
    assert!(push["polled_until"].is_string(), "{status}");

    // The backstop full sync finds nothing polling did not reach.
    let run = api.sync(&id).await;
    assert!(
        run["counts"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.as_u64() == Some(0)),
        "the full sync agrees with what polling reached: {run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_reports_scope_nothing_polls_and_push_says_it_covers_users_only() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path(), polling).await;
    google.deny_scope(REPORTS);
    let id = api.create_active(&google).await;
    push_on(&api, &id).await;
    let integration = IntegrationId::parse(&id).unwrap();
    let status = api.get("/api/v1/status").await;
    let push = &status["integrations"][0]["push"];
    assert_eq!(push["polls_groups"], false, "{status}");
    assert_eq!(push["note"], dirsync_service::USERS_ONLY);
    let group = google.tenant().groups()[0].clone();
    google.remove_group(&group.email).unwrap();
    api.service.keep_push_channels().await.unwrap();
    assert!(api.service.poll_activities(integration).await.is_err());
    assert_eq!(
        api.service
            .store()
            .activity_cursor(integration)
            .await
            .unwrap(),
        None,
        "nothing polled"
    );
    let calls = google.stats().requests_by_route;
    assert!(
        calls.keys().all(|route| !route.contains("/reports/")),
        "{calls:?}"
    );
}

/// Point 5: a suspension pushed by the primary's tenant reaches an outbound Google tenant in
/// seconds, with no scheduled run and no sync asked: the outbound integration follows the push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_suspension_reaches_an_outbound_tenant_without_a_scheduled_run() {
    use dirsync_core::{Selector, Trigger, UserProvisioning};
    use dirsync_google_emulator::{NewUser, Tenant};
    use dirsync_service::{NewRule, Silent};

    let dir = tempfile::tempdir().unwrap();
    let (a, api) = start(dir.path(), quick).await;
    let primary = api.create_active(&a).await;
    let domain = a.tenant().domain().to_owned();
    let mut tb = Tenant::empty(&domain, "C0bbbbbb");
    let mut admin = NewUser::new(&format!("b-admin@{domain}"), "Bea", "Admin");
    admin.is_admin = true;
    tb.add_user(admin).unwrap();
    let b = Emulator::start(EmulatorConfig::with_tenant(tb))
        .await
        .unwrap();
    let key_b = dir.path().join("b.json");
    std::fs::write(&key_b, b.service_account_key_json()).unwrap();
    let created = api
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"title": "B", "direction": "outbound",
                        "settings": support::google_settings(&b, &key_b)})),
            StatusCode::CREATED,
        )
        .await;
    let outbound = IntegrationId::parse(created["id"].as_str().unwrap()).unwrap();
    api.service.activate(outbound, &Silent).await.unwrap();
    let rule = UserProvisioning::new(Selector::Everyone).creating_org_units(true);
    api.service
        .add_rule(
            outbound,
            NewRule::provision_users("People", rule, Trigger::Manual),
        )
        .await
        .unwrap();
    api.service.sync(outbound, &Silent).await.unwrap();
    let ada = a
        .tenant()
        .live_users()
        .find(|u| !u.is_admin && !u.suspended)
        .unwrap()
        .clone();
    let in_b = |b: &RunningEmulator| {
        b.tenant()
            .live_users()
            .find(|u| u.primary_email == ada.primary_email)
            .map(|u| u.suspended)
    };
    assert_eq!(in_b(&b), Some(false), "B holds Ada, active");
    let outbound_runs = api.service.runs(outbound, 100).await.unwrap().len();

    push_on(&api, &primary).await;
    a.suspend_user(&ada.id).unwrap();
    for _ in 0..1000 {
        if in_b(&b) == Some(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        in_b(&b),
        Some(true),
        "the suspension reached B through push"
    );
    // B changes before the follow-up run's record is written: wait for the record.
    let mut runs = api.service.runs(outbound, 100).await.unwrap();
    for _ in 0..1000 {
        if runs.len() > outbound_runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        runs = api.service.runs(outbound, 100).await.unwrap();
    }
    assert_eq!(
        runs.len(),
        outbound_runs + 1,
        "one follow-up run of B: {runs:?}"
    );
}
