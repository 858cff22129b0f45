//! Push notifications: `users.watch`, deliveries with Google's headers, retries, drops,
//! `channels.stop` and expiry; and the Reports API's group activities that polling reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, NewUser, Notification, Outcome, PushDelivery, RunningEmulator,
    TEST_PRIVATE_KEY_PEM, Tenant, sign_jwt,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const USER_RO: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const GROUP_RO: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
const SA_EMAIL: &str = "directory-sync-test@emulator-project.iam.gserviceaccount.com";
const WATCH: &str = "/admin/directory/v1/users/watch?customer=my_customer";
const STOP: &str = "/admin/directory_v1/channels/stop";
const AUDIT: &str = "https://www.googleapis.com/auth/admin.reports.audit.readonly";
const ACTIVITIES: &str = "/admin/reports/v1/activity/users/all/applications";

/// A tenant holding its admin and Ada.
async fn start() -> RunningEmulator {
    let mut t = Tenant::empty("example.com", "C0empty");
    let mut admin = NewUser::new("admin@example.com", "Ad", "Min");
    admin.is_admin = true;
    t.add_user(admin).unwrap();
    t.add_user(NewUser::new("ada@example.com", "Ada", "Lovelace"))
        .unwrap();
    let mut config = EmulatorConfig::with_tenant(t);
    config.push = PushDelivery::default().with_retries(3, Duration::from_millis(5));
    Emulator::start(config).await.unwrap()
}

async fn token(emu: &RunningEmulator, scopes: &[&str]) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"iss": SA_EMAIL, "aud": emu.token_uri(), "exp": iat + 3595, "iat": iat,
        "sub": emu.admin_subject(), "scope": scopes.join(" ")});
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &claims).unwrap();
    let body: Value = reqwest::Client::new()
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn post(emu: &RunningEmulator, tok: &str, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", emu.base_url()))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What the receiver got: the headers and the body of one notification.
type Received = (HeaderMap, String);

/// A receiver on 127.0.0.1 that answers 500 to its first `failures` requests, then 200, and
/// reports every request it answered 200 to.
async fn receiver(failures: u32) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let left = Arc::new(AtomicU32::new(failures));
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let left = left.clone();
            async move {
                if left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let _ = tx.send((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hooks"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a notification within 10 s")
        .expect("the receiver is running")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Polls the emulator's log until `n` notifications finished.
async fn finished(emu: &RunningEmulator, n: usize) -> Vec<Notification> {
    for _ in 0..1000 {
        let log = emu.notifications();
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{n} notifications did not finish: {:?}",
        emu.notifications()
    );
}

fn watch_body(id: &str, address: &str) -> Value {
    json!({"id": id, "type": "web_hook", "address": address, "token": "tok-secret",
        "params": {"ttl": "3600"}})
}

#[tokio::test]
async fn a_channel_gets_sync_then_one_notification_per_user_change_with_googles_headers() {
    let emu = start().await;
    let tok = token(&emu, &[USER_RO]).await;
    let (address, mut rx) = receiver(0).await;
    let (status, channel) = post(&emu, &tok, WATCH, watch_body("ch-1", &address)).await;
    assert_eq!(status, 200, "{channel}");
    assert_eq!(channel["kind"], "api#channel");
    assert_eq!(channel["id"], "ch-1");
    assert_eq!(channel["token"], "tok-secret");
    let resource_id = channel["resourceId"].as_str().unwrap().to_owned();
    let expiration: i64 = channel["expiration"].as_str().unwrap().parse().unwrap();
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    assert!((in_an_hour - expiration).abs() < 60_000, "{expiration}");

    let (h, body) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-resource-state"), "sync");
    assert_eq!(header(&h, "x-goog-message-number"), "1");
    assert_eq!(header(&h, "x-goog-channel-id"), "ch-1");
    assert_eq!(header(&h, "x-goog-channel-token"), "tok-secret");
    assert_eq!(header(&h, "x-goog-resource-id"), resource_id);
    assert!(header(&h, "x-goog-channel-expiration").ends_with(" GMT"));
    assert!(body.is_empty());

    let ada = emu.tenant().user("ada@example.com").unwrap().id.clone();
    emu.suspend_user("ada@example.com").unwrap();
    let (h, body) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-resource-state"), "update");
    assert_eq!(header(&h, "x-goog-message-number"), "2");
    assert!(
        header(&h, "x-goog-resource-uri")
            .contains("/admin/directory/v1/users?customer=my_customer")
    );
    let stub: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stub["id"], ada.as_str());
    assert_eq!(stub["primaryEmail"], "ada@example.com");
    assert!(stub["etag"].is_string());
    assert!(
        stub.get("suspended").is_none(),
        "the body is a stub: {stub}"
    );

    emu.add_user(NewUser::new("bob@example.com", "Bob", "B"))
        .unwrap();
    let (h, _) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-resource-state"), "add");
    emu.remove_user("ada@example.com").unwrap();
    let (h, body) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-resource-state"), "delete");
    assert_eq!(header(&h, "x-goog-message-number"), "4");
    assert!(body.contains(&ada));
    let log = finished(&emu, 4).await;
    assert!(
        log.iter().all(|n| n.outcome == Outcome::Delivered(200)),
        "{log:?}"
    );
}

#[tokio::test]
async fn watch_refuses_plain_http_elsewhere_duplicate_ids_and_missing_scopes() {
    let emu = start().await;
    let tok = token(&emu, &[USER_RO]).await;
    let (status, v) = post(
        &emu,
        &tok,
        WATCH,
        watch_body("a", "http://sync.example.com/h"),
    )
    .await;
    assert_eq!(
        (status, v["error"]["errors"][0]["reason"].as_str()),
        (400, Some("push.webhookUrlNotHttps"))
    );
    let (status, _) = post(
        &emu,
        &tok,
        WATCH,
        watch_body("a", "https://sync.example.com/h"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, v) = post(
        &emu,
        &tok,
        WATCH,
        watch_body("a", "https://sync.example.com/h"),
    )
    .await;
    assert_eq!(
        (status, v["error"]["errors"][0]["reason"].as_str()),
        (400, Some("push.channelIdNotUnique"))
    );
    let (status, _) = post(
        &emu,
        &tok,
        "/admin/directory/v1/users/watch",
        watch_body("b", "https://x.example.com/"),
    )
    .await;
    assert_eq!(status, 400, "customer or domain is required");
    let groups_only = token(&emu, &[GROUP_RO]).await;
    let (status, _) = post(
        &emu,
        &groups_only,
        WATCH,
        watch_body("c", "https://x.example.com/"),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_and_a_dropped_notification_never_arrives() {
    let emu = start().await;
    let tok = token(&emu, &[USER_RO]).await;
    let (address, mut rx) = receiver(2).await;
    assert_eq!(
        post(&emu, &tok, WATCH, watch_body("ch", &address)).await.0,
        200
    );
    let (h, _) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-resource-state"), "sync");
    let log = finished(&emu, 1).await;
    assert_eq!(
        (log[0].attempts, log[0].outcome),
        (3, Outcome::Delivered(200))
    );

    emu.set_push_delivery(PushDelivery::default().with_drop_rate(1.0));
    emu.suspend_user("ada@example.com").unwrap();
    let log = finished(&emu, 2).await;
    assert_eq!(log[1].outcome, Outcome::Dropped);
    emu.set_push_delivery(PushDelivery::default());
    emu.unsuspend_user("ada@example.com").unwrap();
    let (h, _) = next(&mut rx).await;
    assert_eq!(
        header(&h, "x-goog-message-number"),
        "3",
        "the dropped one kept its number"
    );
}

#[tokio::test]
async fn a_stopped_or_expired_channel_delivers_nothing_more() {
    let emu = start().await;
    let tok = token(&emu, &[USER_RO]).await;
    let (address, mut rx) = receiver(0).await;
    let (_, one) = post(&emu, &tok, WATCH, watch_body("one", &address)).await;
    let (_, two) = post(&emu, &tok, WATCH, watch_body("two", &address)).await;
    next(&mut rx).await;
    next(&mut rx).await;

    let stop = json!({"id": "one", "resourceId": one["resourceId"]});
    assert_eq!(post(&emu, &tok, STOP, stop.clone()).await.0, 204);
    assert_eq!(post(&emu, &tok, STOP, stop).await.0, 404, "already stopped");
    let forged = json!({"id": "two", "resourceId": "not-its-resource"});
    assert_eq!(post(&emu, &tok, STOP, forged).await.0, 404);
    emu.suspend_user("ada@example.com").unwrap();
    let (h, _) = next(&mut rx).await;
    assert_eq!(header(&h, "x-goog-channel-id"), "two");

    emu.set_channel_expiration("two", chrono::Utc::now() - chrono::Duration::seconds(1))
        .unwrap();
    emu.unsuspend_user("ada@example.com").unwrap();
    emu.add_user(NewUser::new("bob@example.com", "Bob", "B"))
        .unwrap();
    // Nothing is numbered for a gone channel: the log holds the 2 syncs and 1 update only.
    let log = finished(&emu, 3).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(rx.try_recv().is_err());
    let channels = emu.watch_channels();
    assert!(channels.iter().any(|c| c.id == "one" && c.stopped));
    assert!(
        channels
            .iter()
            .any(|c| c.id == "two" && !c.stopped && c.messages == 2)
    );
    assert_eq!(two["id"], "two");
}

async fn get(emu: &RunningEmulator, tok: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", emu.base_url()))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The `(time, uniqueQualifier, event name)` of each item of one activities page.
fn items(page: &Value) -> Vec<(String, String, String)> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|a| {
                    (
                        a["id"]["time"].as_str().unwrap().to_owned(),
                        a["id"]["uniqueQualifier"].as_str().unwrap().to_owned(),
                        a["events"][0]["name"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn group_activities_show_after_the_lag_newest_first_in_pages_of_each_application() {
    let emu = start().await;
    let tok = token(&emu, &[AUDIT]).await;
    emu.set_reports_lag(Duration::from_secs(3600));
    emu.add_group("staff@example.com", "Staff").unwrap();
    emu.add_member(
        "staff@example.com",
        "ada@example.com",
        dirsync_google_emulator::Role::Member,
    )
    .unwrap();
    emu.remove_member("staff@example.com", "ada@example.com")
        .unwrap();
    let (status, page) = get(&emu, &tok, &format!("{ACTIVITIES}/groups_enterprise")).await;
    assert_eq!(status, 200, "{page}");
    assert!(items(&page).is_empty(), "an hour's lag hides them: {page}");

    emu.set_reports_lag(Duration::ZERO);
    let mut seen = Vec::new();
    let mut path = format!("{ACTIVITIES}/groups_enterprise?maxResults=2");
    loop {
        let (status, page) = get(&emu, &tok, &path).await;
        assert_eq!(status, 200, "{page}");
        assert!(items(&page).len() <= 2, "{page}");
        seen.extend(items(&page));
        match page["nextPageToken"].as_str() {
            Some(next) => {
                path = format!("{ACTIVITIES}/groups_enterprise?maxResults=2&pageToken={next}")
            }
            None => break,
        }
    }
    let names: Vec<&str> = seen.iter().map(|(_, _, n)| n.as_str()).collect();
    assert_eq!(
        names,
        ["remove_member", "add_member", "create_group"],
        "newest first: {seen:?}"
    );
    let mut ids: Vec<&str> = seen.iter().map(|(_, id, _)| id.as_str()).collect();
    ids.dedup();
    assert_eq!(
        ids.len(),
        3,
        "each activity once, with its own id: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "{seen:?}");

    // The admin application names the same changes under its own ids; a window narrows them.
    let (_, admin) = get(&emu, &tok, &format!("{ACTIVITIES}/admin")).await;
    let admin = items(&admin);
    assert_eq!(admin.len(), 3, "{admin:?}");
    assert!(admin.iter().all(|(_, id, _)| !ids.contains(&id.as_str())));
    let after = &seen[1].0;
    let (_, window) = get(
        &emu,
        &tok,
        &format!("{ACTIVITIES}/groups_enterprise?startTime={after}"),
    )
    .await;
    assert!(
        items(&window).iter().all(|(t, _, _)| t >= after),
        "{window}"
    );
    assert!(!items(&window).is_empty());

    let (status, _) = get(&emu, &tok, &format!("{ACTIVITIES}/calendar")).await;
    assert_eq!(status, 400, "an application the emulator does not keep");
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{ACTIVITIES}/groups_enterprise?startTime=yesterday"),
    )
    .await;
    assert_eq!(status, 400);
    let directory_only = token(&emu, &[GROUP_RO]).await;
    let (status, _) = get(&emu, &directory_only, &format!("{ACTIVITIES}/admin")).await;
    assert_eq!(status, 403, "the audit scope is needed");
}
