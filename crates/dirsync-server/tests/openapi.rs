//! The OpenAPI document against the router: every route is in it (the router is built only
//! from documented handlers, and each documented path answers exactly its documented
//! methods), and the checker every API test runs its answers through refuses what does not
//! conform.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::start_with;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_in_the_document_and_every_operation_is_served() {
    // The router is made of `routes!` only, which takes only handlers with a
    // `#[utoipa::path]`: a route added with a bare `.route(` would escape the document.
    let source = include_str!("../src/lib.rs");
    assert!(
        !source.contains(".route("),
        "lib.rs adds a route outside `routes!`, so outside the OpenAPI document"
    );

    let dir = tempfile::tempdir().unwrap();
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let (_google, api) = start_with(dir.path(), Some(handle)).await;
    let paths = api.spec.0["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/integrations/{id}/sync",
        "/api/v1/runs/{id}/events",
        "/api/v1/openapi.json",
        "/metrics",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    for (template, item) in paths {
        // Ids that do not parse: every handler refuses them before doing anything.
        let path: String = template
            .split('/')
            .map(|s| if s.starts_with('{') { "not-an-id" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            let documented = item.get(method.as_str().to_lowercase()).is_some();
            let response = api
                .http
                .request(method.clone(), format!("{}{path}", api.base))
                .bearer_auth(&api.token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            if documented {
                assert_ne!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template}"
                );
                // axum's own 404 (no route) has no body; the API's has an error body.
                assert!(
                    status != StatusCode::NOT_FOUND || !body.is_empty(),
                    "{method} {template} is documented but not routed"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not documented"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_check_refuses_what_does_not_conform() {
    let dir = tempfile::tempdir().unwrap();
    let (google, api) = start_with(dir.path(), None).await;
    api.create_active(&google).await;
    let list = api.get("/api/v1/integrations").await;
    let real = list[0].clone();
    let spec = &api.spec;
    let view = json!({"$ref": "#/components/schemas/IntegrationView"});
    spec.validate(&view, &real, "$").unwrap();

    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut wrong = real.clone();
        edit(&mut wrong);
        spec.validate(&view, &wrong, "$")
    };
    let missing = broken(&|v| {
        v.as_object_mut().unwrap().remove("id");
    });
    assert!(missing.unwrap_err().contains("required field id"));
    let mistyped = broken(&|v| v["primary"] = json!("yes"));
    assert!(mistyped.unwrap_err().contains("$.primary"));
    let not_a_time = broken(&|v| v["created_at"] = json!("yesterday"));
    assert!(not_a_time.unwrap_err().contains("date-time"));
    let deep = broken(&|v| v["rules"] = json!([{"id": 1}]));
    assert!(deep.unwrap_err().contains("$.rules[0]"));

    let status = StatusCode::OK;
    let ct = "application/json";
    assert!(
        spec.check(&Method::GET, "/api/v1/nowhere", status, ct, &json!({}))
            .unwrap_err()
            .contains("not in the document")
    );
    assert!(
        spec.check(&Method::PUT, "/api/v1/status", status, ct, &json!({}))
            .is_err()
    );
    let created = StatusCode::CREATED;
    assert!(
        spec.check(&Method::GET, "/api/v1/status", created, ct, &json!({}))
            .unwrap_err()
            .contains("not documented")
    );
    // A refusal's body is checked too.
    let refused = StatusCode::NOT_FOUND;
    assert!(
        spec.check(
            &Method::GET,
            "/api/v1/status",
            refused,
            ct,
            &json!({"error": "no"})
        )
        .is_err()
    );
}
