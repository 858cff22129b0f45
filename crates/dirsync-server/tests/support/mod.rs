//! What the API tests share: the API on 127.0.0.1 over a SQLite file with an emulated tenant,
//! a client that checks statuses, and readers of error bodies and server-sent events.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

pub(crate) mod schema;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use dirsync_server::{AppState, router};
use dirsync_service::{Registry, Service};
use dirsync_sqlite::SqliteStore;
use metrics_exporter_prometheus::PrometheusHandle;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The API under test, with an admin token.
pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
    pub(crate) service: Arc<Service>,
    /// The emulated tenant's service-account key file.
    pub(crate) key: PathBuf,
    /// The served OpenAPI document, which every answer of [`Api::call`] must conform to.
    pub(crate) spec: schema::Spec,
}

impl Api {
    pub(crate) async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Err(e) = self.spec.check(&method, path, status, &content_type, &json) {
            panic!("the answer does not conform to the OpenAPI document: {e}\n{json}");
        }
        (status, json)
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let (status, json) = self.call(Some(&self.token), Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {json}");
        json
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        want: StatusCode,
    ) -> Value {
        let (status, json) = self
            .call(Some(&self.token), method.clone(), path, body)
            .await;
        assert_eq!(status, want, "{method} {path}: {json}");
        json
    }
}

impl Api {
    /// The same service served again, on another port, by a router over `state` (made from
    /// [`Api::service`]).
    pub(crate) async fn served_again(&self, state: AppState) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api {
            base,
            http: self.http.clone(),
            token: self.token.clone(),
            service: Arc::clone(&self.service),
            key: self.key.clone(),
            spec: self.spec.clone(),
        }
    }

    /// An inbound integration on `google`, created and activated through the API; its id.
    pub(crate) async fn create_active(&self, google: &RunningEmulator) -> String {
        let created = self
            .send(
                Method::POST,
                "/api/v1/integrations",
                Some(json!({"title": "Acme", "direction": "inbound",
                            "settings": google_settings(google, &self.key)})),
                StatusCode::CREATED,
            )
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        self.send(
            Method::POST,
            &format!("/api/v1/integrations/{id}/activate"),
            None,
            StatusCode::OK,
        )
        .await;
        id
    }

    /// `POST …/sync`: 202 with a run id; then `GET /runs/{id}` until the run is over (bounded).
    pub(crate) async fn sync(&self, id: &str) -> Value {
        let accepted = self
            .send(
                Method::POST,
                &format!("/api/v1/integrations/{id}/sync"),
                None,
                StatusCode::ACCEPTED,
            )
            .await;
        let run = accepted["run_id"].as_str().unwrap().to_owned();
        self.wait(&run).await
    }

    /// `GET /runs/{run}` until it is no longer `running` (at most 30 s).
    pub(crate) async fn wait(&self, run: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = self.get(&format!("/api/v1/runs/{run}")).await;
            if now["outcome"] != "running" {
                assert_eq!(now["run_id"], run, "{now}");
                return now;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "run {run} still running"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// The settings of a Google integration on the emulated tenant, as the API takes and shows them.
pub(crate) fn google_settings(google: &RunningEmulator, key: &Path) -> Value {
    json!({
        "system": "google_workspace",
        "customer": "my_customer",
        "subject": google.admin_subject(),
        "key": {"kind": "file", "value": key},
        "ownership": "customer_owned",
        "api_base": google.base_url(),
        "quota_per_minute": 0,
    })
}

/// An error body: its kind.
pub(crate) fn kind(json: &Value) -> &str {
    json["error"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {json}"))
}

pub(crate) async fn start(dir: &Path) -> (RunningEmulator, Api) {
    start_with(dir, None).await
}

/// The API on 127.0.0.1 over a SQLite file in `dir`, with `/metrics` from `metrics`, an
/// emulated tenant, and an admin token.
pub(crate) async fn start_with(
    dir: &Path,
    metrics: Option<PrometheusHandle>,
) -> (RunningEmulator, Api) {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(11, 60)))
        .await
        .unwrap();
    let store = SqliteStore::open(dir.join("directory.db")).unwrap();
    let service = Arc::new(Service::new(Arc::new(store), Registry::builtin()));
    let token = service.create_api_token("admin", false).await.unwrap();
    let key = dir.join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut state = AppState::new(Arc::clone(&service));
    if let Some(handle) = metrics {
        state = state.with_metrics(handle);
    }
    let app = router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let token = token.secret.expose_secret().to_owned();
    let doc = http
        .get(format!("{base}/api/v1/openapi.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
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

/// The server-sent events of a run until its end event (bounded).
pub(crate) async fn events(api: &Api, run: &str) -> Vec<Value> {
    let mut response = api
        .http
        .get(format!("{}/api/v1/runs/{run}/events", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, response.chunk())
        .await
        .unwrap()
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    seen.push(serde_json::from_str::<Value>(data.trim()).unwrap());
                }
            }
        }
    }
    seen
}
