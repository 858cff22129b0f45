//! The SCIM 2.0 service provider: the request sequences Okta and Entra ID document for their
//! SCIM clients, replayed; hostile input; token rotation; a SCIM primary enriched by a Google
//! secondary. (`.ci/run` also runs the `scim2-tester` compliance checks against it.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Api, start};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A SCIM client of one integration.
struct Scim {
    http: reqwest::Client,
    base: String,
    token: String,
    id: String,
}

impl Scim {
    async fn create(api: &Api, title: &str) -> Scim {
        let made = api.service.create_scim_integration(title).await.unwrap();
        Scim {
            http: api.http.clone(),
            base: format!("{}{}", api.base, made.scim_base_path),
            token: made.token.expose_secret().to_owned(),
            id: made.created.integration.id().to_string(),
        }
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.unwrap();
        if !text.is_empty() {
            assert_eq!(
                headers["content-type"], "application/scim+json",
                "{path}: {text}"
            );
        }
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> Value {
        let (status, _, json) = self.raw(method.clone(), path, body, &[]).await;
        assert_eq!(status, want, "{method} {path}: {json}");
        json
    }

    async fn refused(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
        scim_type: Option<&str>,
    ) {
        let json = self.call(method, path, body, want).await;
        assert_eq!(
            json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{json}"
        );
        assert_eq!(json["status"], want.as_u16().to_string(), "{json}");
        assert_eq!(json["scimType"].as_str(), scim_type, "{json}");
    }
}

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": operations})
}

/// The directory user with this email, through the JSON API.
async fn directory_user(api: &Api, email: &str) -> Value {
    let page = api.get(&format!("/api/v1/users?query={email}")).await;
    let id = page["users"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{email}: {page}"))
        .to_owned();
    api.get(&format!("/api/v1/users/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_provisions_deactivates_and_pushes_groups() {
    let dir = tempfile::tempdir().unwrap();
    let (_google, api) = start(dir.path()).await;
    let scim = Scim::create(&api, "Okta").await;
    // Okta: is the user there? Then create it (with a password it may sync), read it back.
    let found = scim
        .call(
            Method::GET,
            "/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(found["totalResults"], 0);
    let created = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": [USER], "userName": "ada@example.com",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
                "displayName": "Ada Lovelace", "locale": "en-US", "externalId": "00u1",
                "groups": [], "password": "t1meMa$heen", "active": true,
            })),
            StatusCode::CREATED,
        )
        .await;
    let ada = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("password").is_none(), "never returned");
    assert_eq!(created["meta"]["resourceType"], "User");
    let again = scim
        .call(Method::GET, &format!("/Users/{ada}"), None, StatusCode::OK)
        .await;
    assert_eq!(again["name"]["givenName"], "Ada");
    let user = directory_user(&api, "ada@example.com").await;
    assert_eq!(user["status"], "active");
    assert_eq!(user["given_name"], "Ada");
    // A second person for the group.
    let grace = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "grace@example.com", "active": true})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Group push: create with members, then member PATCHes, a rename by PUT, then delete.
    let group = scim
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Engineering",
            "members": [{"value": ada, "display": "ada@example.com"}]})),
            StatusCode::CREATED,
        )
        .await;
    let g = group["id"].as_str().unwrap().to_owned();
    scim.call(Method::PATCH, &format!("/Groups/{g}"), Some(ops(json!([
        {"op": "remove", "path": format!("members[value eq \"{ada}\"]")},
        {"op": "add", "path": "members", "value": [{"value": grace, "display": "grace@example.com"}]},
    ]))), StatusCode::OK).await;
    let now = scim
        .call(Method::GET, &format!("/Groups/{g}"), None, StatusCode::OK)
        .await;
    assert_eq!(now["members"], json!([{"value": grace}]));
    let g_user = scim
        .call(
            Method::GET,
            &format!("/Users/{grace}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(g_user["groups"][0]["value"], g);
    scim.call(
        Method::PUT,
        &format!("/Groups/{g}"),
        Some(json!({"schemas": [GROUP], "id": g,
        "displayName": "Eng", "members": [{"value": grace}, {"value": ada}]})),
        StatusCode::OK,
    )
    .await;
    // Deactivation is a path-less replace; the directory suspends the person.
    let off = scim
        .call(
            Method::PATCH,
            &format!("/Users/{ada}"),
            Some(ops(json!([{"op": "replace", "value": {"active": false}}]))),
            StatusCode::OK,
        )
        .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        directory_user(&api, "ada@example.com").await["status"],
        "suspended"
    );
    // A full re-push changes nothing.
    let version = api
        .service
        .store()
        .version(scim.id.parse().unwrap())
        .await
        .unwrap();
    scim.call(
        Method::PATCH,
        &format!("/Users/{ada}"),
        Some(ops(json!([{"op": "replace", "value": {"active": false}}]))),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        api.service
            .store()
            .version(scim.id.parse().unwrap())
            .await
            .unwrap(),
        version
    );
    scim.call(
        Method::DELETE,
        &format!("/Groups/{g}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    scim.refused(
        Method::GET,
        &format!("/Groups/{g}"),
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    // Every write recorded a run.
    let runs = api
        .get(&format!("/api/v1/integrations/{}/runs?limit=100", scim.id))
        .await;
    assert!(runs.as_array().map_or(0, Vec::len) >= 7, "{runs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_provisions_with_its_deviations_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let (_google, api) = start(dir.path()).await;
    let scim = Scim::create(&api, "Entra ID").await;
    let found = scim
        .call(Method::GET, "/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%40contoso.com%22", None, StatusCode::OK)
        .await;
    assert_eq!(found["Resources"], json!([]));
    let boss = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "boss@contoso.com", "active": true})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = scim
        .call(Method::POST, "/Users", Some(json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com",
            "active": true, "displayName": "Test User",
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@contoso.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations", "organization": "Universal Studios"},
        })), StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Entra: `Replace`/`Add` capitalised, booleans as strings, URN paths, the manager as a bare id.
    scim.call(Method::PATCH, &format!("/Users/{id}"), Some(ops(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": boss},
        {"op": "Replace", "path": "active", "value": "False"},
    ]))), StatusCode::OK).await;
    let user = scim
        .call(Method::GET, &format!("/Users/{id}"), None, StatusCode::OK)
        .await;
    assert_eq!(user["active"], false);
    assert_eq!(user[ENTERPRISE]["manager"]["value"], boss);
    let person = directory_user(&api, "updatedemail@microsoft.com").await;
    assert_eq!(person["status"], "suspended");
    assert_eq!(person["employee_id"], "701984");
    assert_eq!(person["manager_email"], "boss@contoso.com", "{person}");
    // Groups: create empty, members added and removed by value lists; filtered reads.
    let g = scim
        .call(
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName", "members": [], "meta": {"resourceType": "Group"}}),
            ),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    scim.call(Method::PATCH, &format!("/Groups/{g}"), Some(ops(json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": boss}]}
    ]))), StatusCode::OK).await;
    scim.call(
        Method::PATCH,
        &format!("/Groups/{g}"),
        Some(ops(json!([
            {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": boss}]}
        ]))),
        StatusCode::OK,
    )
    .await;
    let list = scim
        .call(
            Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none(), "{list}");
    let list = scim
        .call(
            Method::GET,
            "/Groups?filter=externalId+eq+%228aa1a0c0-c4c3-4bc0-b4a5-2ef676900159%22",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(list["Resources"][0]["members"], json!([{"value": id}]));
    // Delete: gone for SCIM, deprovisioned in the directory, out of its groups.
    scim.call(
        Method::DELETE,
        &format!("/Users/{id}"),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    scim.refused(
        Method::GET,
        &format!("/Users/{id}"),
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    assert_eq!(
        directory_user(&api, "updatedemail@microsoft.com").await["status"],
        "deprovisioned"
    );
    let group = scim
        .call(Method::GET, &format!("/Groups/{g}"), None, StatusCode::OK)
        .await;
    assert!(group.get("members").is_none(), "{group}");
    // Paging.
    for i in 0..4 {
        scim.call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": format!("p{i}@contoso.com")})),
            StatusCode::CREATED,
        )
        .await;
    }
    let page = scim
        .call(
            Method::GET,
            "/Users?startIndex=2&count=2&filter=userName+sw+%22p%22",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (
            page["totalResults"].as_u64(),
            page["startIndex"].as_u64(),
            page["itemsPerPage"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_scim_errors_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_google, api) = start(dir.path()).await;
    let scim = Scim::create(&api, "Hostile").await;
    let ada = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "ada@example.com"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = || async {
        api.service
            .store()
            .version(scim.id.parse().unwrap())
            .await
            .unwrap()
    };
    let before = version().await;
    // Malformed JSON, the wrong content type, a body over the limit.
    let send = |body: Vec<u8>, content_type: &'static str| {
        scim.http
            .post(format!("{}/Users", scim.base))
            .bearer_auth(&scim.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = send(b"{\"userName\": ".to_vec(), "application/scim+json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["scimType"],
        "invalidSyntax"
    );
    let r = send(b"userName=x".to_vec(), "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // The server answers before reading the rest, and closes the connection: the client may
    // see the close before the answer, so a few attempts are allowed to read the answer.
    let huge = format!("{{\"userName\": \"{}\"}}", "x".repeat(5 * 1024 * 1024)).into_bytes();
    let mut answered = None;
    for _ in 0..5 {
        // A client of its own: the connection is closed after the answer.
        let once = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let attempt = once
            .post(format!("{}/Users", scim.base))
            .bearer_auth(&scim.token)
            .header("content-type", "application/scim+json")
            .body(huge.clone())
            .send()
            .await;
        if let Ok(r) = attempt {
            answered = Some((r.status(), r.json::<Value>().await.unwrap()));
            break;
        }
    }
    let (status, body) = answered.expect("no answer to an oversized body");
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("413"))
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = send(deep.into_bytes(), "application/scim+json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Unknown schemas and attributes, missing userName, duplicates.
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({"schemas": ["urn:evil"], "userName": "x@example.com"})),
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({"userName": "x@example.com", "isAdmin": true})),
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({"displayName": "nobody"})),
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    scim.refused(
        Method::POST,
        "/Users",
        Some(json!({"userName": "ADA@example.com"})),
        StatusCode::CONFLICT,
        Some("uniqueness"),
    )
    .await;
    // Filters built to break a parser.
    for filter in [
        "userName%20eq",
        "((((((((((((((((((((((((((((((((((((((userName%20pr",
        "userName%20eq%20%22a%22%20and%20or%20x",
        "%22%22%22",
        &"not(".repeat(200),
    ] {
        scim.refused(
            Method::GET,
            &format!("/Users?filter={filter}"),
            None,
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
        )
        .await;
    }
    scim.refused(
        Method::GET,
        "/Users?count=many",
        None,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    )
    .await;
    // A PATCH with one bad operation applies none of them; a stale If-Match is refused.
    scim.refused(
        Method::PATCH,
        &format!("/Users/{ada}"),
        Some(ops(json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nope", "value": "x"},
        ]))),
        StatusCode::BAD_REQUEST,
        Some("invalidPath"),
    )
    .await;
    scim.refused(
        Method::PATCH,
        &format!("/Users/{ada}"),
        Some(json!({"Operations": []})),
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    )
    .await;
    let (status, headers, _) = scim
        .raw(Method::GET, &format!("/Users/{ada}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, body) = scim
        .raw(
            Method::PUT,
            &format!("/Users/{ada}"),
            Some(json!({"userName": "ada@example.com", "displayName": "x"})),
            &[("if-match", "W/\"0000\"")],
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("412"))
    );
    assert_eq!(version().await, before, "nothing was applied");
    let (status, _, _) = scim
        .raw(
            Method::PUT,
            &format!("/Users/{ada}"),
            Some(json!({"userName": "ada@example.com", "displayName": "x"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A 10,000-member PATCH applies whole.
    let g = scim
        .call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "all"})),
            StatusCode::CREATED,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let many: Vec<Value> = (0..10_000)
        .map(|i| json!({"value": format!("member-{i}")}))
        .collect();
    scim.call(
        Method::PATCH,
        &format!("/Groups/{g}"),
        Some(ops(
            json!([{"op": "add", "path": "members", "value": many}]),
        )),
        StatusCode::OK,
    )
    .await;
    let group = scim
        .call(
            Method::GET,
            &format!("/Groups/{g}?attributes=members"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(group["members"].as_array().map(Vec::len), Some(10_000));
    // Unknown endpoints and resources.
    scim.refused(
        Method::GET,
        "/Users/nobody",
        None,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    scim.refused(Method::GET, "/Bulk", None, StatusCode::NOT_FOUND, None)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_refuses_the_old_one_and_tokens_are_per_integration() {
    let dir = tempfile::tempdir().unwrap();
    let (_google, api) = start(dir.path()).await;
    let mut scim = Scim::create(&api, "Okta").await;
    let other = Scim::create(&api, "Entra").await;
    scim.call(Method::GET, "/ServiceProviderConfig", None, StatusCode::OK)
        .await;
    let old = scim.token.clone();
    let new = api
        .service
        .rotate_scim_token(scim.id.parse().unwrap())
        .await
        .unwrap();
    scim.refused(Method::GET, "/Users", None, StatusCode::UNAUTHORIZED, None)
        .await;
    scim.token = new.expose_secret().to_owned();
    scim.call(Method::GET, "/Users", None, StatusCode::OK).await;
    assert_ne!(scim.token, old);
    // Another integration's token, an API token, none: refused.
    for token in [other.token.as_str(), api.token.as_str(), ""] {
        let r = scim
            .http
            .get(format!("{}/Users", scim.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()["content-type"], "application/scim+json");
    }
    let r = scim
        .http
        .get(format!("{}/scim/v2/not-an-id/Users", api.base))
        .bearer_auth(&scim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nothing of a token is kept in the clear.
    let stored = api
        .service
        .integration(scim.id.parse().unwrap())
        .await
        .unwrap();
    let shown = format!(
        "{:?} {}",
        stored,
        serde_json::to_string(stored.settings().fields()).unwrap_or_default()
    );
    assert!(!shown.contains(&scim.token[4..]) && !shown.contains(&old[4..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_primary_is_enriched_by_a_google_secondary() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path()).await;
    let scim = Scim::create(&api, "Okta").await;
    let emails: Vec<String> = google
        .tenant()
        .live_users()
        .take(3)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &emails {
        scim.call(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": email,
            "name": {"givenName": "FromOkta", "familyName": "Person"}})),
            StatusCode::CREATED,
        )
        .await;
    }
    let integrations = api.get("/api/v1/integrations").await;
    assert!(
        integrations.to_string().contains("\"primary\":true"),
        "{integrations}"
    );
    // Google comes second: it links its accounts to the SCIM users by email and adds its
    // attributes, but the profiles stay Okta's.
    let secondary = api.create_active(&google).await;
    let shown = api.get(&format!("/api/v1/integrations/{secondary}")).await;
    assert_eq!(shown["primary"], false, "{shown}");
    for email in &emails {
        let user = directory_user(&api, email).await;
        assert_eq!(user["given_name"], "FromOkta", "{user}");
        let accounts = user["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), 2, "{user}");
        assert!(
            accounts.iter().any(|a| a["link"]["by"] == "email_match"),
            "{user}"
        );
    }
    // Users only Google has do not become directory users: only the primary provisions.
    let all = api.get("/api/v1/users?limit=1000").await;
    assert_eq!(
        all["users"].as_array().unwrap().len(),
        emails.len(),
        "{all}"
    );
}
