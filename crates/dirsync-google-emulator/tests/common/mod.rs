//! Helpers shared by the emulator's end-to-end tests: a client, tokens, requests and page
//! chains. Each test file uses some of them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsync_google_emulator::{
    Emulator, EmulatorConfig, RunningEmulator, TEST_PRIVATE_KEY_PEM, TenantSpec, sign_jwt,
};
use serde_json::{Value, json};

pub(crate) const USER_RO: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
pub(crate) const GROUP_RO: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
pub(crate) const GROUP_MEMBER: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member";
pub(crate) const ORGUNIT_RO: &str =
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";
pub(crate) const CUSTOMER_RO: &str =
    "https://www.googleapis.com/auth/admin.directory.customer.readonly";
pub(crate) const SA_EMAIL: &str = "directory-sync-test@emulator-project.iam.gserviceaccount.com";
pub(crate) const USERS: &str = "/admin/directory/v1/users";

thread_local! {
    /// One client per test (libtest runs each test on its own thread and tokio runtime):
    /// building a rustls client is slow in debug builds.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

pub(crate) fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

pub(crate) async fn start(spec: TenantSpec) -> RunningEmulator {
    Emulator::start(EmulatorConfig::new(spec)).await.unwrap()
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn claims(emu: &RunningEmulator, sub: Option<&str>, scopes: &[&str]) -> Value {
    let iat = now();
    json!({"iss": SA_EMAIL, "aud": emu.token_uri(), "exp": iat + 3595, "iat": iat, "sub": sub, "scope": scopes.join(" ")})
}

pub(crate) async fn token_request(emu: &RunningEmulator, assertion: &str) -> (u16, Value) {
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
    );
    let r = client()
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

pub(crate) async fn token_for(emu: &RunningEmulator, sub: Option<&str>, scopes: &[&str]) -> String {
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &claims(emu, sub, scopes)).unwrap();
    let (status, body) = token_request(emu, &jwt).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn admin_token(emu: &RunningEmulator) -> String {
    let admin = emu.admin_subject();
    token_for(
        emu,
        Some(&admin),
        &[USER_RO, GROUP_RO, GROUP_MEMBER, ORGUNIT_RO, CUSTOMER_RO],
    )
    .await
}

pub(crate) async fn get(emu: &RunningEmulator, token: &str, path_and_query: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{}{path_and_query}", emu.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        },
    )
}

pub(crate) fn assert_envelope(body: &Value, code: u16, reason: &str) {
    let e = &body["error"];
    assert_eq!(e["code"], json!(code), "{body}");
    assert!(e["message"].is_string(), "{body}");
    assert_eq!(e["errors"][0]["reason"], json!(reason), "{body}");
    assert_eq!(e["errors"][0]["domain"], json!("global"), "{body}");
}

/// Follows a page chain; returns all items and the number of pages.
pub(crate) async fn collect(
    emu: &RunningEmulator,
    token: &str,
    path: &str,
    key: &str,
    kind: &str,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &page_token {
            Some(t) => format!("{path}{sep}pageToken={t}"),
            None => path.to_owned(),
        };
        let (status, body) = get(emu, token, &url).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["kind"], json!(kind));
        assert!(body["etag"].is_string());
        pages += 1;
        match body.get(key) {
            Some(Value::Array(a)) => {
                assert!(!a.is_empty(), "empty arrays must be omitted");
                items.extend(a.iter().cloned());
            }
            None => {}
            Some(other) => panic!("{key} is not an array: {other}"),
        }
        match body.get("nextPageToken") {
            Some(Value::String(t)) => page_token = Some(t.clone()),
            None => break,
            Some(other) => panic!("bad nextPageToken {other}"),
        }
    }
    (items, pages)
}
