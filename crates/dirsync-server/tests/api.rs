//! The API over real HTTP on 127.0.0.1, against the emulator: the lifecycle, the directory,
//! held plans, and every refusal (no token, read-only token, unknown id, bad input, wrong
//! state, busy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{google_settings, kind, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path()).await;
    let key = api.key.clone();

    // Health needs no token.
    let (status, body) = api.call(None, Method::GET, "/healthz", None).await;
    assert_eq!((status, body), (StatusCode::OK, Value::String("ok".into())));
    let (status, _) = api.call(None, Method::GET, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);

    // Create: 201 with what the admin must grant.
    let settings = google_settings(&google, &key);
    let created = api
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({
                "system": "google_workspace",
                "title": "Acme",
                "direction": "inbound",
                "schedule": {"kind": "every", "minutes": 30},
                "settings": settings,
            })),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "staged");
    assert_eq!(created["primary"], true);
    assert_eq!(created["scopes"].as_array().unwrap().len(), 3);
    let shown = api.get(&format!("/api/v1/integrations/{id}")).await;
    assert_eq!(shown["schedule_text"], "every 30 minutes");
    assert_eq!(shown["settings"], settings);

    // Activate: the initial sync.
    let activated = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/activate"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(activated["state"]["name"], "active");
    assert_eq!(activated["initial_run"]["outcome"], "succeeded");
    let again = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/activate"),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(kind(&again), "wrong_state");

    // The directory, paged.
    let live = google.tenant().live_users().count();
    let first = api.get("/api/v1/users?limit=25").await;
    assert_eq!(first["users"].as_array().unwrap().len(), 25);
    let mut seen = first["users"].as_array().unwrap().clone();
    let mut next = first["next_page_token"].as_str().map(str::to_owned);
    while let Some(token) = next {
        let page = api
            .get(&format!("/api/v1/users?limit=25&page_token={token}"))
            .await;
        seen.extend(page["users"].as_array().unwrap().iter().cloned());
        next = page["next_page_token"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), live);
    let suspended = api.get("/api/v1/users?status=suspended&limit=1000").await;
    assert!(
        suspended["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["status"] == "suspended")
    );
    let one = &seen[0];
    let user = api
        .get(&format!("/api/v1/users/{}", one["id"].as_str().unwrap()))
        .await;
    assert_eq!(user["primary_email"], one["primary_email"]);
    assert_eq!(user["accounts"].as_array().unwrap().len(), 1);
    assert!(!user["lifecycle_history"].as_array().unwrap().is_empty());
    let groups = api.get("/api/v1/groups").await;
    let group = groups[0]["email"].as_str().unwrap().to_owned();
    let single = api.get(&format!("/api/v1/groups/{group}")).await;
    assert_eq!(single["email"], group.as_str());
    assert!(
        !api.get("/api/v1/org-units")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Settings and rules.
    let patched = api
        .send(
            Method::PATCH,
            &format!("/api/v1/integrations/{id}"),
            Some(json!({"title": "Acme (prod)", "safeguards": {
                "users": {"max_count": 1, "max_percent": 100.0, "min_count": 1},
                "groups": {"max_count": 20, "max_percent": 10.0, "min_count": 3},
                "memberships": {"max_count": 500, "max_percent": 20.0, "min_count": 10},
                "remote_members": {"max_count": 100, "max_percent": 20.0, "min_count": 5},
            }})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(patched["title"], "Acme (prod)");
    assert_eq!(patched["own_safeguards"], true);
    let rule = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/rules"),
            Some(json!({"name": "Users only", "kinds": ["users"], "trigger": "manual"})),
            StatusCode::CREATED,
        )
        .await;
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api.get(&format!("/api/v1/integrations/{id}/rules"))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let ran = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/rules/{rule_id}/run"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(ran["outcome"], "no_change");
    api.send(
        Method::DELETE,
        &format!("/api/v1/integrations/{id}/rules/{rule_id}"),
        None,
        StatusCode::OK,
    )
    .await;
    let gone = api
        .send(
            Method::DELETE,
            &format!("/api/v1/integrations/{id}/rules/{rule_id}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(kind(&gone), "unknown_rule");

    // Two leavers: the dry run names them; the sync is held (threshold 1); review, discard,
    // hold again, approve.
    let leavers: Vec<String> = google
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin && !u.suspended)
        .take(2)
        .map(|u| u.primary_email.clone())
        .collect();
    for email in &leavers {
        google.remove_user(email).unwrap();
    }
    let dry = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/sync?dry_run=true"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(dry["held"], true);
    assert_eq!(dry["counts"]["users_deprovisioned"], 2);
    let held = api.sync(&id).await;
    assert_eq!(held["outcome"], "held");
    let plan = held["held_plan"].as_str().unwrap().to_owned();
    let plans = api.get("/api/v1/plans").await;
    assert_eq!(plans[0]["plan_id"], plan.as_str());
    let review = api.get(&format!("/api/v1/plans/{plan}")).await;
    assert_eq!(review["held"], true);
    assert!(review["reason"].is_string());
    api.send(
        Method::DELETE,
        &format!("/api/v1/plans/{plan}"),
        None,
        StatusCode::OK,
    )
    .await;
    let missing = api
        .send(
            Method::GET,
            &format!("/api/v1/plans/{plan}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(kind(&missing), "not_found");
    let held = api.sync(&id).await;
    let plan = held["held_plan"].as_str().unwrap().to_owned();
    let approved = api
        .send(
            Method::POST,
            &format!("/api/v1/plans/{plan}/approve"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(approved["outcome"], "succeeded");
    assert_eq!(approved["counts"]["users_deprovisioned"], 2);
    let runs = api
        .get(&format!("/api/v1/integrations/{id}/runs?limit=3"))
        .await;
    assert_eq!(runs.as_array().unwrap().len(), 3);

    // Lifecycle.
    let off = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/deactivate"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(off["state"]["name"], "inactive");
    let on = api
        .send(
            Method::PATCH,
            &format!("/api/v1/integrations/{id}"),
            Some(json!({"active": true})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(on["state"]["name"], "active");
    let refused = api
        .send(
            Method::DELETE,
            &format!("/api/v1/integrations/{id}"),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("primary")
    );
    assert_eq!(
        api.get("/api/v1/integrations")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_the_timeout_is_stopped_with_503_but_runs_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path()).await;
    // A timeout of zero stops any request that does not answer at its first poll: one that
    // waits for the emulator is stopped, deterministically.
    let state = dirsync_server::AppState::new(std::sync::Arc::clone(&api.service))
        .with_request_timeout(std::time::Duration::ZERO);
    let hurried = api.served_again(state).await;
    let created = api
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"title": "Acme", "direction": "inbound",
                        "settings": google_settings(&google, &api.key)})),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Routes that run a sync before answering are not timed (stopping them would cancel the
    // run): activating checks access with the emulator and runs the first sync, and answers.
    let activated = hurried
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/activate"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(activated["state_name"], "active");
    // A dry run waits for the emulator too, and is timed: stopped, 503 `timeout`.
    let dry_run = format!("/api/v1/integrations/{id}/sync?dry_run=true");
    let stopped = hurried
        .send(
            Method::POST,
            &dry_run,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    assert_eq!(kind(&stopped), "timeout");
    // The same with the default timeout answers.
    api.send(Method::POST, &dry_run, None, StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_status_and_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path()).await;
    let key = api.key.clone();

    // No token, a wrong one, a revoked one: 401, and the answer names no token.
    for token in [None, Some("dst_not-a-token"), Some("Basic abc")] {
        let (status, body) = api
            .call(token, Method::GET, "/api/v1/integrations", None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(kind(&body), "unauthenticated");
    }
    let revoked = api.service.create_api_token("old", false).await.unwrap();
    api.service.revoke_api_token("old").await.unwrap();
    let (status, body) = api
        .call(
            Some(revoked.secret.expose_secret()),
            Method::GET,
            "/api/v1/integrations",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains(revoked.secret.expose_secret()));

    // A read-only token reads and changes nothing.
    let reader = api.service.create_api_token("reader", true).await.unwrap();
    let reader = reader.secret.expose_secret();
    let (status, _) = api
        .call(Some(reader), Method::GET, "/api/v1/integrations", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            Some(reader),
            Method::POST,
            "/api/v1/integrations",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(kind(&body), "forbidden");
    assert_eq!(
        api.get("/api/v1/integrations").await,
        json!([]),
        "nothing was created"
    );

    // Bad input: 400 with a reason, nothing stored.
    let bad_id = api
        .send(
            Method::GET,
            "/api/v1/integrations/not-an-id",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        bad_id["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not-an-id")
    );
    let (status, body) = api
        .call(
            Some(&api.token),
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(kind(&body), "invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{body}"
    );
    let malformed = api
        .http
        .post(format!("{}/api/v1/integrations", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(kind(&body), "invalid");
    let (status, body) = api
        .call(
            Some(&api.token),
            Method::GET,
            "/api/v1/users?status=sleeping",
            None,
        )
        .await;
    assert_eq!((status, kind(&body)), (StatusCode::BAD_REQUEST, "invalid"));
    let unknown = "5d0c1a7e-2f2b-4a59-9d1e-3c3c8f0c0a11";
    let missing = api
        .send(
            Method::GET,
            &format!("/api/v1/integrations/{unknown}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_eq!(kind(&missing), "not_found");
    let no_primary = api
        .send(Method::GET, "/api/v1/groups", None, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(kind(&no_primary), "not_found");
    let huge = "x".repeat(300 * 1024);
    let (status, _) = api
        .call(
            Some(&api.token),
            Method::POST,
            "/api/v1/integrations",
            Some(json!({"title": huge})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // A missing grant is named (422); the integration stays staged.
    let created = api
        .send(
            Method::POST,
            "/api/v1/integrations",
            Some(json!({
                "title": "Acme",
                "direction": "inbound",
                "settings": google_settings(&google, &key),
            })),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let scope = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";
    google.deny_scope(scope);
    let refused = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/activate"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(kind(&refused), "missing_scopes");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains(scope)
    );
    google.allow_scope(scope);
    api.send(
        Method::POST,
        &format!("/api/v1/integrations/{id}/activate"),
        None,
        StatusCode::OK,
    )
    .await;

    // Busy: another run holds the integration's lease.
    let integration = dirsync_core::IntegrationId::parse(&id).unwrap();
    let now = Utc::now();
    let lease = api
        .service
        .store()
        .acquire_lease(
            integration,
            "another-worker",
            now + Duration::minutes(5),
            now,
        )
        .await
        .unwrap();
    // The job is accepted, then refused as busy; a run of one rule, answered when it ends, is
    // refused with 423.
    let busy = api.sync(&id).await;
    assert_eq!(busy["outcome"], "refused", "{busy}");
    assert_eq!(busy["error"]["kind"], "busy");
    let rules = api.get(&format!("/api/v1/integrations/{id}/rules")).await;
    let rule = rules[0]["id"].as_str().unwrap();
    let locked = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/rules/{rule}/run"),
            None,
            StatusCode::LOCKED,
        )
        .await;
    assert_eq!(kind(&locked), "busy");
    api.service.store().release_lease(&lease).await.unwrap();
    let synced = api.sync(&id).await;
    assert_eq!(synced["outcome"], "no_change");

    // Runs: an unknown one, a bad id, and cancelling a run that is over.
    let unknown_run = "5d0c1a7e-2f2b-4a59-9d1e-3c3c8f0c0a12";
    let (status, body) = api
        .call(
            Some(&api.token),
            Method::GET,
            &format!("/api/v1/runs/{unknown_run}"),
            None,
        )
        .await;
    assert_eq!((status, kind(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = api
        .call(Some(&api.token), Method::GET, "/api/v1/runs/nope", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let over = synced["run_id"].as_str().unwrap();
    let (status, body) = api
        .call(
            Some(&api.token),
            Method::DELETE,
            &format!("/api/v1/runs/{over}"),
            None,
        )
        .await;
    assert_eq!((status, kind(&body)), (StatusCode::CONFLICT, "wrong_state"));
    // Deactivated: a sync is refused at once.
    api.send(
        Method::POST,
        &format!("/api/v1/integrations/{id}/deactivate"),
        None,
        StatusCode::OK,
    )
    .await;
    let refused = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/sync"),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(kind(&refused), "wrong_state");
}
