//! `/metrics` over real HTTP: behind a token, with the run figures and the gauges of the
//! directory's state; and the security headers on every answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::StatusCode;
use support::start_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_behind_a_token_and_security_headers_on_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    let (google, api) = start_with(dir.path(), Some(handle)).await;
    api.create_active(&google).await;
    let token = api.service.create_api_token("scraper", true).await.unwrap();
    let token = token.secret.expose_secret().to_owned();
    let (base, http) = (&api.base, &api.http);

    let anonymous = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let scraped = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(scraped.headers()[name], value, "{name}");
    }
    let text = scraped.text().await.unwrap();
    for needle in [
        "dirsync_runs_total{direction=\"inbound\",outcome=\"succeeded\"}",
        "dirsync_run_duration_seconds",
        "dirsync_remote_requests_total{route=\"GET /admin/directory/v1/users\",status=\"200\"}",
        "dirsync_held_plans 0",
        "dirsync_failed_integrations 0",
        "dirsync_integration_last_success_timestamp_seconds",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains(&token[4..]));
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}
