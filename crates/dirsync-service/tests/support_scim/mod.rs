//! SCIM applications for the outbound tests: the real `scim2-server` as a child process, and
//! a small in-process SCIM app that injects `503`s with `Retry-After`.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use dirsync_scim::{Filter, ResourceType, normalize, patch};
use serde_json::{Value, json};

/// The `scim2-server` binary: `DIRSYNC_SCIM2_SERVER`, else on `PATH`.
fn scim2_server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DIRSYNC_SCIM2_SERVER") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("scim2-server"))
            .find(|p| p.is_file())
    })
}

/// A running `scim2-server` on 127.0.0.1, stopped when dropped.
pub(crate) struct Scim2Server {
    child: Child,
    url: String,
}

impl Scim2Server {
    /// Starts it accepting `token`; `None` (said loudly) when the binary is missing, a
    /// failure instead with `DIRSYNC_REQUIRE_SCIM2_SERVER=1`.
    pub(crate) async fn start(token: &str) -> Option<Self> {
        let Some(binary) = scim2_server_binary() else {
            let message = "scim2-server not found: set DIRSYNC_SCIM2_SERVER or put it on PATH \
                           (bash .ci/run installs it in a venv: pip install scim2-server)";
            assert!(
                std::env::var("DIRSYNC_REQUIRE_SCIM2_SERVER").as_deref() != Ok("1"),
                "DIRSYNC_REQUIRE_SCIM2_SERVER=1: {message}"
            );
            eprintln!("SKIPPED (did not run): {message}");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
            .args(["--bearer-token", token])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let ready = client
                .get(format!("{}/ServiceProviderConfig", server.url))
                .bearer_auth(token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("scim2-server did not answer on {} within 10 s", server.url);
    }

    /// Its base URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header of the test's own requests, which the faulty app never fails (scim2-server
/// ignores it).
pub(crate) const NO_FAULT: &str = "x-test-no-fault";

/// What the faulty app injected.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    /// `503` answers.
    pub(crate) unavailable: u64,
    /// Of those, writes stored before the `503` (lost acknowledgements).
    pub(crate) lost_acks: u64,
}

#[derive(Default)]
struct Inner {
    token: String,
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
    next_id: u64,
    requests: u64,
    every: u64,
    faults: Faults,
}

/// An in-process SCIM app on 127.0.0.1: users and groups in memory (filters, paging, PATCH
/// through this crate's own SCIM code), no `userName` uniqueness (the worst case for a
/// duplicate), and every n-th request answered `503 Retry-After: 1`; every other of those
/// a write stored first.
pub(crate) struct FaultyApp {
    inner: Arc<Mutex<Inner>>,
    url: String,
    _server: tokio::task::JoinHandle<()>,
}

impl FaultyApp {
    /// Starts it accepting `token`, without faults.
    pub(crate) async fn start(token: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            inner,
            url,
            _server: server,
        }
    }

    /// Its base URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Answers every `n`-th request from now on `503`.
    pub(crate) fn fail_every(&self, n: u64) {
        self.inner.lock().unwrap().every = n;
    }

    /// What it injected.
    pub(crate) fn faults(&self) -> Faults {
        self.inner.lock().unwrap().faults.clone()
    }
}

fn scim(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, detail: &str) -> Response {
    scim(
        status,
        &json!({"schemas": [dirsync_scim::ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail}),
    )
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = inner.lock().unwrap();
    let bearer = format!("Bearer {}", s.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "bad token");
    }
    if headers.contains_key(NO_FAULT) {
        return route(&mut s, &method, &uri, &body);
    }
    s.requests += 1;
    let fault = s.every > 0 && s.requests % s.every == 0;
    let store_first = fault && method != Method::GET && (s.requests / s.every) % 2 == 0;
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "try again",
        )
            .into_response()
    };
    if fault && !store_first {
        s.faults.unavailable += 1;
        return unavailable();
    }
    let answer = route(&mut s, &method, &uri, &body);
    if fault {
        s.faults.unavailable += 1;
        s.faults.lost_acks += 1;
        return unavailable();
    }
    answer
}

fn route(s: &mut Inner, method: &Method, uri: &Uri, body: &[u8]) -> Response {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (kind, id) = match segments.as_slice() {
        ["Users"] => (ResourceType::User, None),
        ["Groups"] => (ResourceType::Group, None),
        ["Users", id] => (ResourceType::User, Some((*id).to_owned())),
        ["Groups", id] => (ResourceType::Group, Some((*id).to_owned())),
        _ => return error(StatusCode::NOT_FOUND, "no such endpoint"),
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    s.next_id += 1;
    let new_id = format!("r{}", s.next_id);
    let table = match kind {
        ResourceType::User => &mut s.users,
        _ => &mut s.groups,
    };
    match (method.clone(), id) {
        (Method::GET, None) => {
            let url = reqwest::Url::parse(&format!("http://x{uri}")).unwrap();
            let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            let filter = query.get("filter").map(|f| Filter::parse(f).unwrap());
            let start: usize = query.get("startIndex").map_or(1, |v| v.parse().unwrap());
            let count: usize = query.get("count").map_or(100, |v| v.parse().unwrap());
            let all: Vec<&Value> = table
                .values()
                .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
                .collect();
            let page: Vec<&Value> = all.iter().skip(start - 1).take(count).copied().collect();
            scim(
                StatusCode::OK,
                &json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": all.len(), "startIndex": start, "itemsPerPage": page.len(),
                    "Resources": page,
                }),
            )
        }
        (Method::POST, None) => {
            let Some(Ok(mut resource)) = json.map(|j| normalize(kind, &j)) else {
                return error(StatusCode::BAD_REQUEST, "not a resource");
            };
            resource["id"] = json!(new_id);
            table.insert(new_id, resource.clone());
            scim(StatusCode::CREATED, &resource)
        }
        (Method::PATCH, Some(id)) => {
            let Some(current) = table.get(&id) else {
                return error(StatusCode::NOT_FOUND, "no such resource");
            };
            let applied = json
                .ok_or_else(|| dirsync_scim::Error::InvalidSyntax("not JSON".into()))
                .and_then(|j| patch::parse(&j))
                .and_then(|ops| patch::apply(kind, current, &ops));
            match applied {
                Ok(mut resource) => {
                    resource["id"] = json!(id);
                    table.insert(id, resource.clone());
                    scim(StatusCode::OK, &resource)
                }
                Err(e) => scim(StatusCode::from_u16(e.status()).unwrap(), &e.body()),
            }
        }
        (Method::DELETE, Some(id)) => match table.remove(&id) {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => error(StatusCode::NOT_FOUND, "no such resource"),
        },
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "not here"),
    }
}
