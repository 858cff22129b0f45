//! Inbound SCIM throughput: users created per second through the whole path (HTTP, token
//! check, validation, the engine's per-object plan, the push window, one SQLite transaction and
//! one run record per create), one client at a time and eight at once.
//!
//! `cargo run --release -p dirsync-server --example scim_throughput -- [USERS]` (default 2000
//! per phase).

use std::sync::Arc;
use std::time::Instant;

use dirsync_server::{AppState, router};
use dirsync_service::{Registry, Service};
use dirsync_sqlite::SqliteStore;
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn create(http: &reqwest::Client, url: &str, token: &str, name: &str) -> Result<()> {
    let status = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("{name}@example.com"),
                "name": {"givenName": name, "familyName": "Bench"},
                "emails": [{"value": format!("{name}@example.com"), "primary": true}],
                "active": true,
            })
            .to_string(),
        )
        .send()
        .await?
        .status();
    if status.as_u16() != 201 {
        return Err(format!("create {name}: {status}").into());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let users: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("directory.db"))?;
    let service = Arc::new(Service::new(Arc::new(store), Registry::builtin()));
    let made = service.create_scim_integration("bench").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}{}/Users",
        listener.local_addr()?,
        made.scim_base_path
    );
    let app = router(AppState::new(Arc::clone(&service)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let token = made.token.expose_secret().to_owned();
    let http = reqwest::Client::new();

    let started = Instant::now();
    for i in 0..users {
        create(&http, &url, &token, &format!("seq{i}")).await?;
    }
    let sequential = started.elapsed();
    println!(
        "sequential: {users} creates in {:.2} s = {:.0} creates/s (directory 0 -> {users} users)",
        sequential.as_secs_f64(),
        users as f64 / sequential.as_secs_f64()
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in (c..users).step_by(8) {
                create(&http, &url, &token, &format!("par{i}")).await?;
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let parallel = started.elapsed();
    println!(
        "8 clients:  {users} creates in {:.2} s = {:.0} creates/s (directory {users} -> {} users)",
        parallel.as_secs_f64(),
        users as f64 / parallel.as_secs_f64(),
        2 * users
    );
    let runs = service
        .store()
        .runs(made.created.integration.id(), 10 * users)
        .await?;
    println!("runs recorded: {}", runs.len());
    Ok(())
}
