//! The write side of users and org units: `users.insert`, `users.patch`, `users.delete` and
//! `orgunits.insert` with Google's validation and errors, and the write faults.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsync_google_emulator::{
    Emulator, EmulatorConfig, Faults, NewUser, RunningEmulator, TEST_PRIVATE_KEY_PEM, Tenant,
    sign_jwt,
};
use serde_json::{Value, json};

const USER: &str = "https://www.googleapis.com/auth/admin.directory.user";
const USER_RO: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const ORGUNIT: &str = "https://www.googleapis.com/auth/admin.directory.orgunit";
const SA_EMAIL: &str = "directory-sync-test@emulator-project.iam.gserviceaccount.com";
const USERS: &str = "/admin/directory/v1/users";
const ORGUNITS: &str = "/admin/directory/v1/customer/my_customer/orgunits";

/// A tenant holding only its admin.
async fn start() -> RunningEmulator {
    let mut t = Tenant::empty("example.com", "C0empty");
    let mut admin = NewUser::new("admin@example.com", "Ad", "Min");
    admin.is_admin = true;
    t.add_user(admin).unwrap();
    Emulator::start(EmulatorConfig::with_tenant(t))
        .await
        .unwrap()
}

async fn token(emu: &RunningEmulator, scopes: &[&str]) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"iss": SA_EMAIL, "aud": emu.token_uri(), "exp": iat + 3595, "iat": iat,
        "sub": emu.admin_subject(), "scope": scopes.join(" ")});
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &claims).unwrap();
    let r = reqwest::Client::new()
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        ))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Sends `method path` with `body`; the status, and the error reason or the body.
async fn send(
    emu: &RunningEmulator,
    tok: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", emu.base_url()))
        .bearer_auth(tok);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, v)
}

fn reason(v: &Value) -> &str {
    v["error"]["errors"][0]["reason"]
        .as_str()
        .unwrap_or_default()
}

fn ada() -> Value {
    json!({"primaryEmail": "ada@example.com", "name": {"givenName": "Ada", "familyName": "Lovelace"},
           "password": "a-long-random-secret", "changePasswordAtNextLogin": true,
           "externalIds": [{"type": "organization", "value": "E-1"},
                           {"type": "custom", "customType": "dirsync", "value": "created:x:y"}],
           "relations": [{"type": "manager", "value": "admin@example.com"}],
           "organizations": [{"primary": true, "description": "contractor"}]})
}

#[tokio::test]
async fn users_insert_validates_like_google_and_writes_what_it_was_given() {
    let emu = start().await;
    let tok = token(&emu, &[USER, ORGUNIT]).await;
    let post = |body: Value| send(&emu, &tok, reqwest::Method::POST, USERS, Some(body));
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = ada();
        f(&mut v);
        v
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with(&|v| v["nickname"] = json!("x")), 400, "invalid"),
        (with(&|v| v["name"]["middle"] = json!("x")), 400, "invalid"),
        (
            with(&|v| {
                v.as_object_mut().unwrap().remove("password");
            }),
            400,
            "required",
        ),
        (
            with(&|v| v["name"]["familyName"] = json!("")),
            400,
            "required",
        ),
        (with(&|v| v["password"] = json!("short")), 400, "invalid"),
        (
            with(&|v| v["orgUnitPath"] = json!("/Nowhere")),
            400,
            "invalid",
        ),
        (
            with(&|v| v["primaryEmail"] = json!("ada@elsewhere.org")),
            400,
            "invalid",
        ),
        (
            with(&|v| v["primaryEmail"] = json!("Admin@example.com")),
            409,
            "duplicate",
        ),
    ];
    for (body, status, why) in cases {
        let (s, v) = post(body.clone()).await;
        assert_eq!((s, reason(&v)), (status, why), "{body} → {v}");
    }
    assert_eq!(emu.stats().users_inserted, 0);
    let (s, created) = post(ada()).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["changePasswordAtNextLogin"], true);
    assert_eq!(created["externalIds"][1]["customType"], "dirsync");
    assert_eq!(created["relations"][0]["value"], "admin@example.com");
    assert_eq!(created["organizations"][0]["description"], "contractor");
    assert!(created.get("password").is_none(), "never echoed");
    let (s, v) = post(ada()).await;
    assert_eq!((s, reason(&v)), (409, "duplicate"));
    // A read-only token may not write.
    let ro = token(&emu, &[USER_RO]).await;
    let (s, v) = send(&emu, &ro, reqwest::Method::POST, USERS, Some(ada())).await;
    assert_eq!((s, reason(&v)), (403, "insufficientPermissions"));
}

#[tokio::test]
async fn patch_renames_moves_and_suspends_keeping_the_id_and_delete_removes() {
    let emu = start().await;
    let tok = token(&emu, &[USER, ORGUNIT]).await;
    let (_, created) = send(&emu, &tok, reqwest::Method::POST, USERS, Some(ada())).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (s, v) = send(
        &emu,
        &tok,
        reqwest::Method::POST,
        ORGUNITS,
        Some(json!({"name": "Eng", "parentOrgUnitPath": "/", "description": "engineers"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["orgUnitPath"], "/Eng");
    for (body, status, why) in [
        (
            json!({"name": "Eng", "parentOrgUnitPath": "/"}),
            409,
            "duplicate",
        ),
        (
            json!({"name": "X", "parentOrgUnitPath": "/Nope"}),
            400,
            "invalid",
        ),
        (json!({"parentOrgUnitPath": "/"}), 400, "required"),
        (
            json!({"name": "X", "parentOrgUnitPath": "/", "color": 1}),
            400,
            "invalid",
        ),
    ] {
        let (s, v) = send(&emu, &tok, reqwest::Method::POST, ORGUNITS, Some(body)).await;
        assert_eq!((s, reason(&v)), (status, why), "{v}");
    }
    let user = format!("{USERS}/{id}");
    let (s, v) = send(
        &emu,
        &tok,
        reqwest::Method::PATCH,
        &user,
        Some(json!({"primaryEmail": "ada.king@example.com", "orgUnitPath": "/Eng", "suspended": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            &v["id"],
            &v["primaryEmail"],
            &v["orgUnitPath"],
            &v["suspended"]
        ),
        (
            &json!(id),
            &json!("ada.king@example.com"),
            &json!("/Eng"),
            &json!(true)
        )
    );
    // Fields not sent are kept.
    assert_eq!(v["externalIds"][0]["value"], "E-1");
    let (s, v) = send(
        &emu,
        &tok,
        reqwest::Method::PATCH,
        &user,
        Some(json!({"orgUnitPath": "/Nowhere"})),
    )
    .await;
    assert_eq!((s, reason(&v)), (400, "invalid"));
    let (s, _) = send(&emu, &tok, reqwest::Method::DELETE, &user, None).await;
    assert_eq!(s, 204);
    let (s, v) = send(&emu, &tok, reqwest::Method::PATCH, &user, Some(json!({}))).await;
    assert_eq!((s, reason(&v)), (404, "notFound"));
}

#[tokio::test]
async fn a_lost_write_is_applied_and_answered_as_a_gateway_timeout() {
    let emu = start().await;
    let tok = token(&emu, &[USER]).await;
    emu.set_faults(Faults {
        lost_write_rate: 1.0,
        ..Faults::default()
    });
    let (s, v) = send(&emu, &tok, reqwest::Method::POST, USERS, Some(ada())).await;
    assert_eq!((s, reason(&v)), (504, "gatewayTimeout"));
    assert!(emu.tenant().user("ada@example.com").is_some());
    emu.set_faults(Faults {
        write_error_rate: 1.0,
        ..Faults::default()
    });
    let mut bob = ada();
    bob["primaryEmail"] = json!("bob@example.com");
    let (s, v) = send(&emu, &tok, reqwest::Method::POST, USERS, Some(bob)).await;
    assert_eq!((s, reason(&v)), (503, "backendError"));
    assert!(emu.tenant().user("bob@example.com").is_none());
}
