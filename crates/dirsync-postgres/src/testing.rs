//! Test support (feature `testing`): where tests find a PostgreSQL server: `DIRSYNC_TEST_POSTGRES_URL`, or else a private
//! cluster this test process starts itself when `initdb` and `pg_ctl` are installed (in PATH
//! or `/usr/lib/postgresql/*/bin`): in a temporary directory, on its own 127.0.0.1 port, stopped
//! and deleted when the process ends. Where neither is possible the tests say loudly that they
//! did not run, and fail instead when `DIRSYNC_REQUIRE_POSTGRES=1`.
//!
//! Each store gets its own schema (`search_path`), so tests run side by side on one server.
//! [`fresh_store`] is a conformance factory
//! (`dirsync_store::conformance_tests!(dirsync_postgres::testing::fresh_store)`).

// Test support shipped as a library: asserting (and so panicking) on a broken setup is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use crate::PostgresStore;
use dirsync_store::Store;

/// How to get PostgreSQL, for the message of a run without it.
const INSTALL: &str = "install it (Debian/Ubuntu: `apt-get install -y postgresql`; it provides \
     initdb and pg_ctl under /usr/lib/postgresql/*/bin) or set DIRSYNC_TEST_POSTGRES_URL to a \
     server where the tests may create schemas";

/// The server's URL, once per process; `None` if there is none (after saying so).
fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let url = match std::env::var("DIRSYNC_TEST_POSTGRES_URL") {
                Ok(url) if !url.is_empty() => Some(url),
                _ => start_private_cluster(),
            };
            if url.is_none() {
                let message = format!(
                    "\n\n*** The PostgreSQL tests did NOT run: no DIRSYNC_TEST_POSTGRES_URL and no \
                     initdb/pg_ctl found. To run them, {INSTALL}. ***\n"
                );
                assert!(
                    std::env::var("DIRSYNC_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "DIRSYNC_REQUIRE_POSTGRES=1: {message}"
                );
                eprintln!("{message}");
            }
            url
        })
        .as_deref()
}

/// A fresh, empty store in its own schema, with the schema's name; `None` if there is no server.
pub async fn fresh_store() -> Option<(Arc<dyn Store>, String)> {
    let schema = fresh_schema().await?;
    let base = server()?;
    let store = PostgresStore::connect(&in_schema(base, &schema))
        .await
        .expect("connect the store");
    Some((Arc::new(store) as Arc<dyn Store>, schema))
}

/// The URL of a fresh, empty schema of the test server (for a store or a `--db`); `None` if
/// there is no server.
pub async fn fresh_url() -> Option<String> {
    let schema = fresh_schema().await?;
    Some(in_schema(server()?, &schema))
}

/// The URL of a fresh, empty database of the test server; `None` if there is no server. For
/// tests that look at every tenant of a database (a tenant's schema belongs to the database,
/// so tests sharing one would see each other's tenants).
pub async fn fresh_database_url() -> Option<String> {
    let Some(base) = server() else {
        eprintln!("postgres test skipped: no PostgreSQL (see the message above)");
        return None;
    };
    let name = format!("dirsync_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to the test server");
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    drop(client);
    let _ = task.await;
    Some(with_database(base, &name))
}

/// `url` naming database `name` instead of its own (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (address, query) = match url.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (url, None),
    };
    let authority_at = address.find("://").map_or(0, |i| i + 3);
    let server = match address[authority_at..].find('/') {
        Some(slash) => &address[..authority_at + slash],
        None => address,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// Creates a fresh schema on the test server and returns its name; `None` if there is none.
async fn fresh_schema() -> Option<String> {
    let Some(base) = server() else {
        eprintln!("postgres test skipped: no PostgreSQL (see the message above)");
        return None;
    };
    let schema = format!("dirsync_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to the test server");
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create the test schema");
    drop(client);
    let _ = task.await;
    Some(schema)
}

/// A tenant name no other test of this server uses (tenants' schemas are the database's, not
/// the test schema's).
pub fn fresh_tenant_name() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

/// The URL of `base` with `search_path` set to `schema`.
pub fn in_schema(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

/// The URL of the test server, if there is one.
pub fn url() -> Option<&'static str> {
    server()
}

/// The directory holding `initdb` and `pg_ctl`: PATH first, then the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin() -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    in_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// Runs a PostgreSQL tool; as root, as the `postgres` user (initdb refuses root).
fn tool(bin: &Path, name: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(name));
        command
    } else {
        Command::new(bin.join(name))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Starts a private cluster and returns its URL; `None` if initdb/pg_ctl are not installed.
// The watchdog is never waited for: it outlives this process on purpose.
#[allow(clippy::zombie_processes)]
fn start_private_cluster() -> Option<String> {
    let bin = postgres_bin()?;
    let as_postgres = is_root();
    let dir = std::env::temp_dir().join(format!(
        "dirsync-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("create the cluster's directory");
    if as_postgres {
        let status = Command::new("chown")
            .arg("postgres")
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(
            status.success(),
            "chown of {} to postgres failed",
            dir.display()
        );
    }
    let data = dir.join("data");
    let output = tool(&bin, "initdb", as_postgres)
        .arg("-D")
        .arg(&data)
        .args(["-U", "dirsync", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .stdin(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    let output = tool(&bin, "pg_ctl", as_postgres)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("server.log"))
        .args(["-w", "start"])
        .stdin(Stdio::null())
        .output()
        .expect("run pg_ctl start");
    assert!(
        output.status.success(),
        "pg_ctl start failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A watchdog stops the cluster and deletes it when this process ends, however it ends.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runuser = if as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster's watchdog");
    eprintln!(
        "started a private PostgreSQL cluster on 127.0.0.1:{port} ({})",
        dir.display()
    );
    Some(format!("postgres://dirsync@127.0.0.1:{port}/postgres"))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_url_names_another_database() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/postgres", "d"),
            "postgres://u@127.0.0.1:5432/d"
        );
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "d"),
            "postgres://u@h:1/d?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "d"), "postgres://u@h:1/d");
    }
}
