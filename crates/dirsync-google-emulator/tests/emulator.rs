//! End-to-end checks of the emulator against the shapes and behaviour in
//! `reference/google-directory-api.md`.

// Test helpers (not `#[test]` functions themselves) may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use dirsync_google_emulator::{
    Emulator, EmulatorConfig, Faults, NewUser, OTHER_TEST_PRIVATE_KEY_PEM, PATCH_MEMBER_ROUTE,
    Role, RunningEmulator, ServiceAccount, TEST_PRIVATE_KEY_PEM, TenantSpec, sign_jwt,
};
use serde_json::{Value, json};

const USER_RO: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
const GROUP_RO: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
const GROUP_MEMBER: &str = "https://www.googleapis.com/auth/admin.directory.group.member";
const ORGUNIT_RO: &str = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";
const CUSTOMER_RO: &str = "https://www.googleapis.com/auth/admin.directory.customer.readonly";
const SA_EMAIL: &str = "directory-sync-test@emulator-project.iam.gserviceaccount.com";
const USERS: &str = "/admin/directory/v1/users";

thread_local! {
    /// One client per test (libtest runs each test on its own thread and tokio runtime):
    /// building a rustls client is slow in debug builds.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

async fn start(spec: TenantSpec) -> RunningEmulator {
    Emulator::start(EmulatorConfig::new(spec)).await.unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(emu: &RunningEmulator, sub: Option<&str>, scopes: &[&str]) -> Value {
    let iat = now();
    json!({"iss": SA_EMAIL, "aud": emu.token_uri(), "exp": iat + 3595, "iat": iat, "sub": sub, "scope": scopes.join(" ")})
}

async fn token_request(emu: &RunningEmulator, assertion: &str) -> (u16, Value) {
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

async fn token_for(emu: &RunningEmulator, sub: Option<&str>, scopes: &[&str]) -> String {
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &claims(emu, sub, scopes)).unwrap();
    let (status, body) = token_request(emu, &jwt).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn admin_token(emu: &RunningEmulator) -> String {
    let admin = emu.admin_subject();
    token_for(
        emu,
        Some(&admin),
        &[USER_RO, GROUP_RO, GROUP_MEMBER, ORGUNIT_RO, CUSTOMER_RO],
    )
    .await
}

async fn get(emu: &RunningEmulator, token: &str, path_and_query: &str) -> (u16, Value) {
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

fn assert_envelope(body: &Value, code: u16, reason: &str) {
    let e = &body["error"];
    assert_eq!(e["code"], json!(code), "{body}");
    assert!(e["message"].is_string(), "{body}");
    assert_eq!(e["errors"][0]["reason"], json!(reason), "{body}");
    assert_eq!(e["errors"][0]["domain"], json!("global"), "{body}");
}

/// Follows a page chain; returns all items and the number of pages.
async fn collect(
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

#[tokio::test]
async fn gcp_auth_token_then_users_list() {
    let emu = start(TenantSpec::small(1)).await;
    let sa = gcp_auth::CustomServiceAccount::from_json(&emu.service_account_key_json())
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    let token = sa.token(&[USER_RO]).await.unwrap();
    let (status, body) = get(
        &emu,
        token.as_str(),
        &format!("{USERS}?customer=my_customer&maxResults=5"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"].as_array().unwrap().len(), 5);
    assert_eq!(emu.stats().tokens_issued, 1);
    let key: Value = serde_json::from_str(&emu.service_account_key_json()).unwrap();
    for field in [
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "token_uri",
    ] {
        assert!(key[field].is_string(), "{field}");
    }
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], json!(emu.token_uri()));
}

#[tokio::test]
async fn user_shape_matches_reference() {
    let emu = start(TenantSpec::small(2)).await;
    let tok = admin_token(&emu).await;
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=500"),
    )
    .await;
    let users = body["users"].as_array().unwrap();
    assert!(body.get("nextPageToken").is_none());
    for u in users {
        assert_eq!(u["kind"], "admin#directory#user");
        for f in [
            "id",
            "etag",
            "primaryEmail",
            "creationTime",
            "orgUnitPath",
            "customerId",
            "lastLoginTime",
        ] {
            assert!(u[f].is_string(), "{f} in {u}");
        }
        assert!(u["name"]["fullName"].is_string());
        assert!(u["suspended"].is_boolean() && u["isAdmin"].is_boolean());
        assert_eq!(u["externalIds"][0]["type"], "organization");
        assert!(
            u["externalIds"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("E-")
        );
        assert_eq!(u["organizations"][0]["primary"], true);
        let d = u["organizations"][0]["description"].as_str().unwrap();
        assert!(d == "employee" || d == "contractor");
        if let Some(r) = u.get("relations") {
            assert_eq!(r[0]["type"], "manager");
        }
        assert_eq!(u["suspended"] == true, u.get("suspensionReason").is_some());
        assert!(u.get("deletionTime").is_none());
    }
    let one = &users[3];
    let (status, got) = get(
        &emu,
        &tok,
        &format!(
            "{USERS}/{}",
            one["primaryEmail"].as_str().unwrap().replace('@', "%40")
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&got, one);
    let (status, got) = get(
        &emu,
        &tok,
        &format!("{USERS}/{}", one["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((status, &got), (200, one));
    let (status, body) = get(&emu, &tok, &format!("{USERS}/nobody%40example.com")).await;
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: userKey");
}

#[tokio::test]
async fn users_pagination_visits_every_user_once() {
    let emu = start(TenantSpec::sized(3, 230)).await;
    let tok = admin_token(&emu).await;
    let expected: HashSet<String> = emu.tenant().live_users().map(|u| u.id.clone()).collect();
    for size in [1usize, 7, 100, 229, 230, 500] {
        let (items, pages) = collect(
            &emu,
            &tok,
            &format!("{USERS}?customer=my_customer&maxResults={size}"),
            "users",
            "admin#directory#users",
        )
        .await;
        let ids: Vec<String> = items
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        let set: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), set.len(), "duplicates at size {size}");
        assert_eq!(set, expected, "size {size}");
        assert_eq!(pages, 230usize.div_ceil(size), "size {size}");
        let emails: Vec<&str> = items
            .iter()
            .map(|u| u["primaryEmail"].as_str().unwrap())
            .collect();
        assert!(emails.windows(2).all(|w| w[0] < w[1]), "sorted by email");
    }
    // Default page size is 100.
    let (_, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(body["users"].as_array().unwrap().len(), 100);
    // Descending order is the reverse.
    let (items, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=50&orderBy=email&sortOrder=DESCENDING"),
        "users",
        "admin#directory#users",
    )
    .await;
    let emails: Vec<&str> = items
        .iter()
        .map(|u| u["primaryEmail"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 230);
    assert!(emails.windows(2).all(|w| w[0] > w[1]));
}

#[tokio::test]
async fn max_results_bounds_and_bad_page_tokens() {
    let emu = start(TenantSpec::small(4)).await;
    let tok = admin_token(&emu).await;
    for (path, bad, good) in [
        (
            format!("{USERS}?customer=my_customer"),
            ["0", "501", "x"],
            "500",
        ),
        (
            "/admin/directory/v1/groups?customer=my_customer".to_owned(),
            ["0", "201", "-1"],
            "200",
        ),
        (
            "/admin/directory/v1/groups/all-staff%40example.com/members".to_owned(),
            ["0", "201", "1.5"],
            "200",
        ),
    ] {
        for b in bad {
            let (status, body) = get(
                &emu,
                &tok,
                &format!(
                    "{path}{}maxResults={b}",
                    if path.contains('?') { '&' } else { '?' }
                ),
            )
            .await;
            assert_eq!(status, 400, "{path} {b}");
            assert_envelope(&body, 400, "invalid");
        }
        let (status, _) = get(
            &emu,
            &tok,
            &format!(
                "{path}{}maxResults={good}",
                if path.contains('?') { '&' } else { '?' }
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
    // A token from another listing, or garbage, is refused.
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=2"),
    )
    .await;
    let t = body["nextPageToken"].as_str().unwrap();
    let (status, body) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups?customer=my_customer&pageToken={t}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "invalid");
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&pageToken=garbage!"),
    )
    .await;
    assert_eq!(status, 400);
    // customer or domain is required; a foreign customer is forbidden.
    let (status, body) = get(&emu, &tok, USERS).await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "badRequest");
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=C0other")).await;
    assert_eq!(status, 403);
    let customer = emu.tenant().customer_id().to_owned();
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer={customer}")).await;
    assert_eq!(status, 200);
    let (status, _) = get(&emu, &tok, &format!("{USERS}?domain=example.com")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn groups_and_members_shapes_and_pagination() {
    let emu = start(TenantSpec::sized(5, 450)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let (groups, pages) = collect(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer&maxResults=7",
        "groups",
        "admin#directory#groups",
    )
    .await;
    assert_eq!(groups.len(), tenant.groups().len());
    assert_eq!(pages, tenant.groups().len().div_ceil(7));
    let mut saw_group_member = false;
    let mut saw_customer = false;
    let mut saw_empty = false;
    for g in &groups {
        assert_eq!(g["kind"], "admin#directory#group");
        let count: usize = g["directMembersCount"]
            .as_str()
            .expect("count is a string")
            .parse()
            .unwrap();
        let email = g["email"].as_str().unwrap();
        let tg = tenant.group(email).unwrap();
        assert_eq!(count, tg.members.len());
        let sizes: &[usize] = if count <= 20 { &[1, 3, 200] } else { &[7, 200] };
        for &size in sizes {
            let path = format!(
                "/admin/directory/v1/groups/{}/members?maxResults={size}",
                email.replace('@', "%40")
            );
            let (members, _) =
                collect(&emu, &tok, &path, "members", "admin#directory#members").await;
            assert_eq!(members.len(), count, "{email} at {size}");
            let ids: HashSet<&str> = members.iter().map(|m| m["id"].as_str().unwrap()).collect();
            assert_eq!(ids.len(), count);
            if size == 200 {
                saw_empty |= count == 0;
                for m in &members {
                    assert_eq!(m["kind"], "admin#directory#member");
                    let role = m["role"].as_str().unwrap();
                    assert!(["OWNER", "MANAGER", "MEMBER"].contains(&role));
                    match m["type"].as_str().unwrap() {
                        "USER" => assert!(m["email"].is_string()),
                        "GROUP" => {
                            saw_group_member = true;
                            assert_eq!(m["status"], "ACTIVE");
                        }
                        "CUSTOMER" => {
                            saw_customer = true;
                            assert!(m.get("email").is_none());
                            assert_eq!(m["id"], json!(tenant.customer_id()));
                        }
                        other => panic!("type {other}"),
                    }
                }
            }
        }
    }
    assert!(saw_group_member && saw_customer && saw_empty);
    // The all-staff group holds every live user.
    let all = tenant.groups()[0].email.replace('@', "%40");
    let (members, pages) = collect(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{all}/members"),
        "members",
        "admin#directory#members",
    )
    .await;
    assert_eq!(members.len(), 450);
    assert_eq!(pages, 3);
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/none%40example.com/members",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "Resource Not Found: groupKey");
}

#[tokio::test]
async fn show_deleted_lists_only_deleted_users() {
    let emu = start(TenantSpec::small(6)).await;
    let tok = admin_token(&emu).await;
    let (deleted, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&showDeleted=true"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|u| u["deletionTime"].is_string()));
    let victim = emu.tenant().users()[5].primary_email.clone();
    emu.remove_user(&victim).unwrap();
    let (deleted, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&showDeleted=true"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(deleted.len(), 3);
    assert!(deleted.iter().any(|u| u["primaryEmail"] == json!(victim)));
    let (live, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(live.len(), 49);
    assert!(live.iter().all(|u| u["primaryEmail"] != json!(victim)));
}

#[tokio::test]
async fn fields_masks_and_query_subset() {
    let emu = start(TenantSpec::sized(7, 120)).await;
    let tok = admin_token(&emu).await;
    let (_, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer&maxResults=10&fields=nextPageToken,users(id,primaryEmail,name/fullName,relations)")).await;
    let obj = body.as_object().unwrap();
    assert!(
        obj.keys().all(|k| k == "users" || k == "nextPageToken"),
        "{body}"
    );
    assert!(body["nextPageToken"].is_string());
    for u in body["users"].as_array().unwrap() {
        let keys: HashSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.is_subset(&HashSet::from(["id", "primaryEmail", "name", "relations"])),
            "{u}"
        );
        assert_eq!(u["name"].as_object().unwrap().len(), 1);
    }
    // Without nextPageToken in the mask, paging silently stops (as at Google).
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=10&fields=users(id)"),
    )
    .await;
    assert!(body.get("nextPageToken").is_none());
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&fields=users(id"),
    )
    .await;
    assert_eq!(status, 400);
    // query=orgUnitPath='/X' selects the unit and its sub-units.
    let tenant = emu.tenant();
    let dept = tenant.org_units()[1].path.clone();
    let expected = tenant
        .live_users()
        .filter(|u| u.org_unit_path == dept || u.org_unit_path.starts_with(&format!("{dept}/")))
        .count();
    let q = format!("orgUnitPath='{dept}'")
        .replace('\'', "%27")
        .replace('/', "%2F");
    let (users, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query={q}"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(users.len(), expected);
    assert!(expected > 0);
    let (users, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query=isSuspended%3Dtrue"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(
        users.len(),
        tenant.live_users().filter(|u| u.suspended).count()
    );
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query=foo%3Dbar"),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn gzip_when_asked() {
    let emu = start(TenantSpec::small(8)).await;
    let tok = admin_token(&emu).await;
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let url = format!("{}{USERS}?customer=my_customer", emu.base_url());
    let r = client
        .get(&url)
        .bearer_auth(&tok)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");
    let r = client.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    // reqwest's transparent gzip decodes it.
    let (status, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 200);
    assert!(body["users"].is_array());
}

#[tokio::test]
async fn jwt_verification() {
    let emu = start(TenantSpec::small(9)).await;
    let admin = emu.admin_subject();
    let good = claims(&emu, Some(&admin), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 3000);
    assert!(body["access_token"].is_string());

    let refused = |body: &Value, error: &str| {
        assert_eq!(body["error"], json!(error), "{body}");
        assert!(body["error_description"].is_string());
    };
    // Wrong key.
    let (status, body) =
        token_request(&emu, &sign_jwt(OTHER_TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    assert_eq!(body["error_description"], "Invalid JWT Signature.");
    // Tampered claims.
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let other = sign_jwt(
        TEST_PRIVATE_KEY_PEM,
        &claims(&emu, Some(&admin), &[USER_RO, GROUP_RO]),
    )
    .unwrap();
    parts[1] = other.split('.').nth(1).unwrap().to_owned();
    let (status, _) = token_request(&emu, &parts.join(".")).await;
    assert_eq!(status, 400);
    // Expired.
    let mut c = good.clone();
    c["iat"] = json!(now() - 7200);
    c["exp"] = json!(now() - 3605);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Wrong audience.
    let mut c = good.clone();
    c["aud"] = json!("https://elsewhere.example/token");
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Unknown issuer.
    let mut c = good.clone();
    c["iss"] = json!("someone@else.iam.gserviceaccount.com");
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Unknown and malformed subjects.
    let c = claims(&emu, Some("ghost@example.com"), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Invalid email or User ID");
    let c = claims(&emu, Some("not-an-email"), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // A scope that is not delegated.
    let c = claims(
        &emu,
        Some(&admin),
        &[USER_RO, "https://www.googleapis.com/auth/gmail.readonly"],
    );
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    // Denied scope / subject at runtime.
    emu.deny_scope(GROUP_RO);
    let c = claims(&emu, Some(&admin), &[GROUP_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    emu.allow_scope(GROUP_RO);
    let (status, _) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 200);
    emu.deny_subject(&admin);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    // Empty scope, wrong grant type.
    let c = claims(&emu, None, &[]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_scope");
    let r = client()
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let s = emu.stats();
    assert!(s.token_requests_refused >= 10);
    assert_eq!(s.tokens_issued, 2);
}

#[tokio::test]
async fn gcp_auth_retries_refused_token_requests_five_times() {
    let emu = start(TenantSpec::small(10)).await;
    emu.deny_subject(&emu.admin_subject());
    let sa = gcp_auth::CustomServiceAccount::from_json(&emu.service_account_key_json())
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    assert!(sa.token(&[USER_RO]).await.is_err());
    assert_eq!(emu.stats().token_requests_refused, 5);
    assert_eq!(emu.stats().requests("POST /token"), 5);
}

#[tokio::test]
async fn additional_service_accounts() {
    let mut config = EmulatorConfig::new(TenantSpec::small(11));
    config.service_accounts.push(
        ServiceAccount::new(
            "other@proj.iam.gserviceaccount.com",
            "1234",
            OTHER_TEST_PRIVATE_KEY_PEM,
        )
        .with_granted_scopes([USER_RO]),
    );
    let emu = Emulator::start(config).await.unwrap();
    let key = emu
        .service_account_key_json_for("other@proj.iam.gserviceaccount.com")
        .unwrap();
    let sa = gcp_auth::CustomServiceAccount::from_json(&key)
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    let tok = sa.token(&[USER_RO]).await.unwrap();
    let (status, _) = get(&emu, tok.as_str(), &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 200);
    // Not delegated for this account: a direct request gets unauthorized_client.
    let c = json!({"iss": "other@proj.iam.gserviceaccount.com", "aud": emu.token_uri(), "iat": now(), "exp": now() + 3000,
        "sub": emu.admin_subject(), "scope": GROUP_RO});
    let (status, body) =
        token_request(&emu, &sign_jwt(OTHER_TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "unauthorized_client")
    );
    assert!(emu.service_account_key_json_for("nobody@x").is_err());
    assert!(
        Emulator::start(EmulatorConfig {
            service_accounts: vec![ServiceAccount::new("bad@x", "1", "not a key")],
            ..EmulatorConfig::new(TenantSpec::small(1))
        })
        .await
        .is_err()
    );
}

#[tokio::test]
async fn api_authorization_and_scopes() {
    let emu = start(TenantSpec::small(12)).await;
    let admin = emu.admin_subject();
    // No token.
    let r = client()
        .get(format!("{}{USERS}?customer=my_customer", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_envelope(&r.json().await.unwrap(), 401, "required");
    // Unknown token.
    let (status, body) = get(&emu, "ya29.nope", &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "authError");
    // group.member: members yes, groups.list no (reference §0.13).
    let tok = token_for(&emu, Some(&admin), &[GROUP_MEMBER]).await;
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer",
    )
    .await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "insufficientPermissions");
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com",
    )
    .await;
    assert_eq!(status, 403, "groups.get needs group(.readonly) too");
    assert_envelope(&body, 403, "insufficientPermissions");
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com/members",
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    // group.readonly reads members but cannot write them.
    let tok = token_for(&emu, Some(&admin), &[GROUP_RO]).await;
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com/members",
    )
    .await;
    assert_eq!(status, 200);
    let r = client()
        .post(format!(
            "{}/admin/directory/v1/groups/all-staff%40example.com/members",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .json(&json!({"email": "x@external.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // No subject, or a non-admin subject: 403 forbidden.
    let tok = token_for(&emu, None, &[USER_RO]).await;
    let (status, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "forbidden");
    assert_eq!(
        body["error"]["message"],
        "Not Authorized to access this resource/api"
    );
    let plain = emu
        .tenant()
        .live_users()
        .find(|u| !u.is_admin && !u.suspended)
        .unwrap()
        .primary_email
        .clone();
    let tok = token_for(&emu, Some(&plain), &[USER_RO]).await;
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    // Org units need orgunit scopes.
    let tok = token_for(&emu, Some(&admin), &[USER_RO]).await;
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/customer/my_customer/orgunits?type=all",
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn token_expiry_and_revocation() {
    let mut config = EmulatorConfig::new(TenantSpec::small(13));
    config.token_lifetime = Duration::from_secs(1);
    let emu = Emulator::start(config).await.unwrap();
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=1");
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = get(&emu, &tok, &path).await;
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "authError");
    emu.set_token_lifetime(Duration::from_secs(3599));
    let tok = admin_token(&emu).await;
    let tok2 = admin_token(&emu).await;
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    assert!(emu.revoke_token(&tok));
    assert_eq!(get(&emu, &tok, &path).await.0, 401);
    assert_eq!(get(&emu, &tok2, &path).await.0, 200);
    assert_eq!(emu.revoke_subject_tokens(&emu.admin_subject()), 1);
    assert_eq!(get(&emu, &tok2, &path).await.0, 401);
    let tok3 = admin_token(&emu).await;
    assert_eq!(emu.revoke_all_tokens(), 1);
    assert_eq!(get(&emu, &tok3, &path).await.0, 401);
}

#[tokio::test]
async fn members_insert_duplicate_and_delete_not_found() {
    let emu = start(TenantSpec::small(14)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let group = tenant
        .groups()
        .iter()
        .find(|g| g.members.is_empty())
        .unwrap()
        .email
        .clone();
    let user = tenant.live_users().nth(4).unwrap().clone();
    let url = format!(
        "{}/admin/directory/v1/groups/{}/members",
        emu.base_url(),
        group.replace('@', "%40")
    );
    let client = client();
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"email": user.primary_email, "role": "MEMBER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["kind"], "admin#directory#member");
    assert_eq!(m["id"], json!(user.id));
    assert_eq!(m["type"], "USER");
    assert_eq!(m["role"], "MEMBER");
    assert!(m["etag"].is_string());
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"id": user.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 409, "duplicate");
    assert_eq!(body["error"]["message"], "Member already exists.");
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_envelope(&r.json().await.unwrap(), 400, "required");
    // The count follows.
    let (_, g) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{}", group.replace('@', "%40")),
    )
    .await;
    assert_eq!(g["directMembersCount"], "1");
    let (_, hm) = get(
        &emu,
        &tok,
        &format!(
            "/admin/directory/v1/groups/{}/hasMember/{}",
            group, user.primary_email
        ),
    )
    .await;
    assert_eq!(hm, json!({"isMember": true}));
    // Delete: 204, then 404 memberKey.
    let del = format!("{url}/{}", user.primary_email.replace('@', "%40"));
    let r = client.delete(&del).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = client.delete(&del).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");
    let r = client
        .delete(format!(
            "{}/admin/directory/v1/groups/nope%40example.com/members/x",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "Resource Not Found: groupKey"
    );
    let (_, g) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{}", group.replace('@', "%40")),
    )
    .await;
    assert_eq!(g["directMembersCount"], "0");
    assert!(g.get("members").is_none());
    let (_, list) = get(
        &emu,
        &tok,
        &format!(
            "/admin/directory/v1/groups/{}/members",
            group.replace('@', "%40")
        ),
    )
    .await;
    assert!(
        list.get("members").is_none(),
        "empty member list omits the array: {list}"
    );
}

#[tokio::test]
async fn members_patch_sets_a_role_and_names_what_is_missing() {
    let emu = start(TenantSpec::small(15)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let group = tenant
        .groups()
        .iter()
        .find(|g| g.members.is_empty())
        .unwrap()
        .clone();
    let (user, stranger) = {
        let mut live = tenant.live_users().skip(4);
        (live.next().unwrap().clone(), live.next().unwrap().clone())
    };
    let url = format!(
        "{}/admin/directory/v1/groups/{}/members",
        emu.base_url(),
        group.email.replace('@', "%40")
    );
    let member_url = |u: &str| format!("{url}/{}", u.replace('@', "%40"));
    let client = client();
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"email": user.primary_email, "role": "MEMBER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let patch = |key: String, body: Value| {
        client
            .patch(member_url(&key))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    // By email, then by id: the role changes and the member is answered.
    let r = patch(user.primary_email.clone(), json!({"role": "MANAGER"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["id"].as_str(), m["role"].as_str()),
        (Some(user.id.as_str()), Some("MANAGER"))
    );
    let r = patch(user.id.clone(), json!({})).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "no role: left as it is");
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "MANAGER");
    let roles: Vec<Role> = emu
        .tenant()
        .group(&group.id)
        .unwrap()
        .members
        .iter()
        .map(|m| m.role)
        .collect();
    assert_eq!(roles, [Role::Manager]);
    // A bad role, a non-member and a missing group.
    let r = patch(user.id.clone(), json!({"role": "BOSS"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = patch(stranger.primary_email.clone(), json!({"role": "OWNER"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");
    let r = client
        .patch(format!(
            "{}/admin/directory/v1/groups/nope%40example.com/members/x",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .json(&json!({"role": "OWNER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "Resource Not Found: groupKey"
    );
    let s = emu.stats();
    assert_eq!(s.members_patched, 2);
    assert_eq!(s.requests(PATCH_MEMBER_ROUTE), 5);
    assert_eq!(s.write_requests(), 6);
}

#[tokio::test]
async fn org_units_and_customer() {
    let emu = start(TenantSpec {
        org_units: 14,
        ..TenantSpec::small(15)
    })
    .await;
    let tok = admin_token(&emu).await;
    let base = "/admin/directory/v1/customer/my_customer/orgunits";
    let (status, all) = get(&emu, &tok, &format!("{base}?type=all")).await;
    assert_eq!(status, 200);
    assert_eq!(all["kind"], "admin#directory#orgUnits");
    assert!(all.get("nextPageToken").is_none());
    let units = all["organizationUnits"].as_array().unwrap();
    assert_eq!(units.len(), 14);
    for u in units {
        assert_eq!(u["kind"], "admin#directory#orgUnit");
        assert!(u["orgUnitId"].as_str().unwrap().starts_with("id:"));
        assert!(u["parentOrgUnitPath"].is_string() && u["parentOrgUnitId"].is_string());
        assert_ne!(u["orgUnitPath"], "/");
    }
    let (_, children) = get(&emu, &tok, base).await;
    assert_eq!(children["organizationUnits"].as_array().unwrap().len(), 10);
    let (_, with_root) = get(&emu, &tok, &format!("{base}?type=allIncludingParent")).await;
    assert_eq!(with_root["organizationUnits"].as_array().unwrap().len(), 15);
    let leaf = units.last().unwrap();
    let path = leaf["orgUnitPath"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let (status, got) = get(&emu, &tok, &format!("{base}/{path}")).await;
    assert_eq!((status, &got), (200, leaf));
    let (_, leaf_children) = get(
        &emu,
        &tok,
        &format!(
            "{base}?type=children&orgUnitPath={}",
            leaf["orgUnitId"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        leaf_children.get("organizationUnits").is_none(),
        "{leaf_children}"
    );
    let (status, c) = get(&emu, &tok, "/admin/directory/v1/customers/my_customer").await;
    assert_eq!(status, 200);
    assert_eq!(c["kind"], "admin#directory#customer");
    assert_eq!(c["id"], json!(emu.tenant().customer_id()));
    assert_eq!(c["customerDomain"], "example.com");
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let a = start(TenantSpec::sized(16, 120)).await;
    let b = start(TenantSpec::sized(16, 120)).await;
    let (ta, tb) = (admin_token(&a).await, admin_token(&b).await);
    for path in [
        format!("{USERS}?customer=my_customer&maxResults=50"),
        "/admin/directory/v1/groups?customer=my_customer".to_owned(),
        "/admin/directory/v1/groups/all-staff%40example.com/members?maxResults=30".to_owned(),
        "/admin/directory/v1/customer/my_customer/orgunits?type=all".to_owned(),
    ] {
        let fetch = |emu: &RunningEmulator, tok: &str| {
            let url = format!("{}{path}", emu.base_url());
            let tok = tok.to_owned();
            async move {
                client()
                    .get(url)
                    .bearer_auth(tok)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(fetch(&a, &ta).await, fetch(&b, &tb).await, "{path}");
    }
}

#[tokio::test]
async fn mutations_are_visible() {
    let emu = start(TenantSpec::small(17)).await;
    let tok = admin_token(&emu).await;
    let mut new = NewUser::new("new.hire@example.com", "New", "Hire");
    new.employee_id = Some("E-99999".into());
    new.manager_email = Some(emu.admin_subject());
    let user = emu.add_user(new).unwrap();
    let (status, got) = get(&emu, &tok, &format!("{USERS}/new.hire%40example.com")).await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], json!(user.id));
    assert_eq!(got["relations"][0]["value"], json!(emu.admin_subject()));
    emu.suspend_user(&user.id).unwrap();
    let (_, got) = get(&emu, &tok, &format!("{USERS}/{}", user.id)).await;
    assert_eq!(got["suspended"], true);
    let g = emu.add_group("new-group@example.com", "New group").unwrap();
    emu.add_member(&g.email, &user.primary_email, Role::Owner)
        .unwrap();
    let (_, members) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/new-group%40example.com/members",
    )
    .await;
    assert_eq!(members["members"][0]["role"], "OWNER");
    assert_eq!(members["members"][0]["status"], "SUSPENDED");
    emu.remove_member(&g.email, &user.id).unwrap();
    let (_, members) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/new-group%40example.com/members",
    )
    .await;
    assert!(members.get("members").is_none());
    let (groups, _) = collect(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer",
        "groups",
        "admin#directory#groups",
    )
    .await;
    assert_eq!(groups.len(), 11);
    emu.remove_user(&user.primary_email).unwrap();
    let (status, _) = get(&emu, &tok, &format!("{USERS}/{}", user.id)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_front_end_sheds_load_past_its_bound_with_503_backend_error() {
    let emu = start(TenantSpec::small(18)).await;
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=10");
    // Five requests at once, each served for 200 ms, against a bound of two.
    emu.set_latency(Duration::from_millis(200));
    emu.set_max_in_flight(Some(2));
    emu.reset_stats();
    let (a, b, c, d, e) = tokio::join!(
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
    );
    let answers = [a, b, c, d, e];
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 2);
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 503);
        assert_eq!(body["error"]["errors"][0]["reason"], "backendError");
    }
    assert_eq!(emu.stats().overload_rejections, 3);
    // The token endpoint is not the Directory API: never shed.
    emu.set_max_in_flight(Some(1));
    let (t1, t2) = tokio::join!(admin_token(&emu), admin_token(&emu));
    assert!(!t1.is_empty() && !t2.is_empty());
    assert_eq!(emu.stats().overload_rejections, 3);
    // The bound lifted, all five are answered.
    emu.set_max_in_flight(None);
    let (a, b, c, d, e) = tokio::join!(
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
        get(&emu, &tok, &path),
    );
    assert!([a, b, c, d, e].iter().all(|(s, _)| *s == 200));
    assert_eq!(emu.stats().overload_rejections, 3);
}

#[tokio::test]
async fn injected_latency_errors_failing_pages_and_quota() {
    let emu = start(TenantSpec::small(18)).await;
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=10");
    // Latency.
    // Latency: a request waits it out before an answer (a client that gives up after 50 ms
    // sees none while the latency is 30 s, and an answer once it is gone).
    emu.set_latency(Duration::from_secs(30));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let url = format!("{}{path}", emu.base_url());
    let err = impatient
        .get(&url)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    emu.set_latency(Duration::ZERO);
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    // Transient errors: every request fails with one of the three kinds.
    emu.set_faults(Faults {
        error_rate: 1.0,
        seed: 3,
        ..Faults::default()
    });
    let mut seen = HashSet::new();
    for _ in 0..30 {
        let (status, body) = get(&emu, &tok, &path).await;
        let reason = body["error"]["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(matches!(
            (status, reason.as_str()),
            (503, "backendError") | (429, "rateLimitExceeded") | (403, "userRateLimitExceeded")
        ));
        seen.insert(status);
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(emu.stats().errors_injected, 30);
    emu.set_faults(Faults {
        error_rate: 0.3,
        seed: 3,
        ..Faults::default()
    });
    let mut ok = 0;
    for _ in 0..40 {
        ok += usize::from(get(&emu, &tok, &path).await.0 == 200);
    }
    assert!((10..40).contains(&ok), "{ok}");
    emu.set_faults(Faults::default());
    // A failing page: page 2 of the users chain fails every time; page 0 and 1 work.
    emu.fail_page("GET /admin/directory/v1/users", 2, 503);
    let (_, p0) = get(&emu, &tok, &path).await;
    let t1 = p0["nextPageToken"].as_str().unwrap().to_owned();
    let (s1, p1) = get(&emu, &tok, &format!("{path}&pageToken={t1}")).await;
    assert_eq!(s1, 200);
    let t2 = p1["nextPageToken"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (s2, body) = get(&emu, &tok, &format!("{path}&pageToken={t2}")).await;
        assert_eq!(s2, 503);
        assert_envelope(&body, 503, "backendError");
    }
    emu.clear_failing_pages();
    assert_eq!(
        get(&emu, &tok, &format!("{path}&pageToken={t2}")).await.0,
        200
    );
    // Quota per subject.
    emu.set_quota_per_minute(Some(5));
    for _ in 0..5 {
        assert_eq!(get(&emu, &tok, &path).await.0, 200);
    }
    let (status, body) = get(&emu, &tok, &path).await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "userRateLimitExceeded");
    assert_eq!(emu.stats().quota_rejections, 1);
    emu.set_quota_per_minute(None);
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
}

#[tokio::test]
async fn stats_count_routes_and_concurrency() {
    let emu = start(TenantSpec::small(19)).await;
    let tok = admin_token(&emu).await;
    emu.reset_stats();
    emu.set_latency(Duration::from_millis(100));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = format!(
            "{}/admin/directory/v1/groups?customer=my_customer",
            emu.base_url()
        );
        let tok = tok.clone();
        tasks.push(tokio::spawn(async move {
            client()
                .get(url)
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().as_u16(), 200);
    }
    let s = emu.stats();
    assert_eq!(s.requests("GET /admin/directory/v1/groups"), 8);
    assert_eq!(s.requests_total, 8);
    assert!(s.max_in_flight >= 2, "{s:?}");
    assert_eq!(s.in_flight, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn write_faults_apply_to_inserts_and_deletes_and_writes_are_counted() {
    let emu = start(TenantSpec::small(20)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let mut small = tenant.groups().iter().filter(|g| g.members.len() < 20);
    let (g1, g2) = (small.next().unwrap().clone(), small.next().unwrap().clone());
    let users: Vec<String> = tenant
        .live_users()
        .filter(|u| !g1.members.iter().chain(&g2.members).any(|m| m.id == u.id))
        .map(|u| u.primary_email.clone())
        .take(3)
        .collect();
    let members = |g: &str| {
        format!(
            "{}/admin/directory/v1/groups/{}/members",
            emu.base_url(),
            g.replace('@', "%40")
        )
    };
    let insert = |g: &str, u: &str| {
        client()
            .post(members(g))
            .bearer_auth(&tok)
            .json(&json!({"email": u, "role": "MEMBER"}))
            .send()
    };
    let delete = |g: &str, u: &str| {
        client()
            .delete(format!("{}/{}", members(g), u.replace('@', "%40")))
            .bearer_auth(&tok)
            .send()
    };
    // Every write to g2 (named by email, written by id) fails; g1 is untouched by the fault.
    emu.fail_group_writes(&g2.email, 400);
    let r = insert(&g2.id, &users[0]).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_envelope(&r.json().await.unwrap(), 400, "badRequest");
    assert_eq!(delete(&g2.email, &users[0]).await.unwrap().status(), 400);
    assert_eq!(insert(&g1.id, &users[0]).await.unwrap().status(), 200);
    emu.clear_failing_groups();
    // The 2nd write from now fails once with 503; the retry (the 3rd write) succeeds.
    emu.set_faults(Faults {
        failing_writes: vec![1],
        ..Faults::default()
    });
    assert_eq!(insert(&g1.id, &users[1]).await.unwrap().status(), 200);
    let r = insert(&g1.id, &users[2]).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_envelope(&r.json().await.unwrap(), 503, "backendError");
    assert_eq!(insert(&g1.id, &users[2]).await.unwrap().status(), 200);
    assert_eq!(delete(&g1.email, &users[0]).await.unwrap().status(), 204);
    // Transient errors, latency and quota apply to writes as to reads.
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let status = delete(&g1.id, &users[1]).await.unwrap().status().as_u16();
    assert!(matches!(status, 503 | 429 | 403), "{status}");
    emu.set_faults(Faults {
        quota_per_minute: Some(0),
        ..Faults::default()
    });
    let r = delete(&g1.id, &users[1]).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_envelope(&r.json().await.unwrap(), 403, "userRateLimitExceeded");
    emu.set_faults(Faults::default());
    let s = emu.stats();
    assert_eq!((s.members_inserted, s.members_deleted), (3, 1));
    assert_eq!(s.write_requests(), 9);
    assert_eq!(s.errors_injected, 4);
    assert_eq!(s.quota_rejections, 1);
    let g1_now: HashSet<String> = emu
        .tenant()
        .group(&g1.id)
        .unwrap()
        .members
        .iter()
        .filter_map(|m| m.email.clone())
        .collect();
    assert!(g1_now.contains(&users[1]) && g1_now.contains(&users[2]));
    assert!(!g1_now.contains(&users[0]));
    assert_eq!(emu.tenant().group(&g2.id).unwrap().members, g2.members);
}
