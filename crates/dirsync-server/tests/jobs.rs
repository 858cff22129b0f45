//! Syncs as jobs over real HTTP: 202 with the run's id, server-sent progress events, the
//! record under the same id, and cancel (nothing changed, the lease free at once).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{events, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_jobs_with_progress_events_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start(dir.path()).await;
    let id = api.create_active(&google).await;

    // A slow Google: the run is still going when its events are asked for.
    google.set_latency(std::time::Duration::from_millis(100));
    let accepted = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/sync"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    let run = accepted["run_id"].as_str().unwrap().to_owned();
    let running = api.get(&format!("/api/v1/runs/{run}")).await;
    assert_eq!(running["outcome"], "running", "{running}");
    let seen = events(&api, &run).await;
    let kinds: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"fetched"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    let fetched_users: Vec<u64> = seen
        .iter()
        .filter(|e| e["event"] == "fetched" && e["kind"] == "users")
        .map(|e| e["items"].as_u64().unwrap())
        .collect();
    assert!(
        fetched_users.windows(2).all(|w| w[0] <= w[1]),
        "running totals"
    );
    let finished = seen.last().unwrap();
    assert_eq!(finished["run"]["run_id"], run.as_str());
    assert_eq!(finished["run"]["outcome"], "no_change");
    // A run already over sends its end at once.
    let again = events(&api, &run).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["event"], "finished");

    // Cancel a running sync: it ends as cancelled, nothing changed, the lease is free at once.
    let users_before = api.get("/api/v1/users?limit=1000").await;
    google.set_latency(std::time::Duration::from_millis(300));
    let accepted = api
        .send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/sync"),
            None,
            StatusCode::ACCEPTED,
        )
        .await;
    let run = accepted["run_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let cancelled = api
        .send(
            Method::DELETE,
            &format!("/api/v1/runs/{run}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(cancelled["cancelled"], true);
    assert_eq!(
        api.get(&format!("/api/v1/runs/{run}")).await["outcome"],
        "cancelled"
    );
    google.set_latency(std::time::Duration::ZERO);
    assert_eq!(api.get("/api/v1/users?limit=1000").await, users_before);
    let next = api.sync(&id).await;
    assert_eq!(
        next["outcome"], "no_change",
        "the cancelled run's lease was released: {next}"
    );
}
