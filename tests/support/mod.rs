//! Fixtures shared by the root reliability tests: an emulator, a connector on the real
//! gcp_auth path, SQLite store files with an active primary integration, a fixed clock, and a
//! logical dump of a store file. Each test file is its own binary and uses part of this.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use directory_sync::core::{
    AnyIntegration, Authorization, DirectionKind, Email, FetchProgress, IntegrationId,
    KeyOwnership, NewIntegration, ObjectKind, RemoteSettings, Schedule,
};
use directory_sync::engine::{Policy, RunContext};
use directory_sync::google::{GoogleConnector, GoogleConnectorBuilder, RetryConfig};
use directory_sync::google::{
    GoogleSettings, KeyReference, ServiceAccountKey, required_scopes as google_required_scopes,
};
use directory_sync::sqlite::SqliteStore;
use directory_sync::store::Store;
use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};

/// The instant every run of these tests happens at (the engine never reads the clock).
pub(crate) fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .unwrap()
}

/// An emulator serving a generated tenant of `users` users, 1 % of them suspended (so that
/// the initial sync stays under the default users safeguard, which counts suspensions).
pub(crate) async fn emulator(seed: u64, users: usize) -> RunningEmulator {
    let spec = TenantSpec {
        suspended_ratio: 0.01,
        ..TenantSpec::sized(seed, users)
    };
    Emulator::start(EmulatorConfig::new(spec)).await.unwrap()
}

/// A connector on the production auth path (gcp_auth with the emulator's key), with short
/// retry waits so that tests stay fast.
pub(crate) fn connector(emu: &RunningEmulator) -> GoogleConnectorBuilder {
    GoogleConnector::builder()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .concurrency(8)
        .requests_per_minute(0)
        .retry(
            RetryConfig::default()
                .with_max_retries(10)
                .with_delays(Duration::from_millis(2), Duration::from_millis(40))
                .with_max_jitter(Duration::from_millis(2)),
        )
        .token_timeout(Duration::from_secs(20))
}

fn authorization(emu: &RunningEmulator) -> Authorization {
    Authorization {
        method: None,
        subject: Some(Email::new(emu.admin_subject()).unwrap()),
        client_id: Some("emulator".into()),
        client_email: Some(Email::new("sync@test-project.iam.gserviceaccount.com").unwrap()),
        ownership: Some(KeyOwnership::CustomerOwned),
        scopes: google_required_scopes(DirectionKind::Inbound, ObjectKind::ALL),
        checks: Vec::new(),
        verified_at: fixed_now(),
    }
}

/// The integration's settings pointing at `emu`.
pub(crate) fn settings(emu: &RunningEmulator) -> RemoteSettings {
    let mut s = GoogleSettings::new(
        Email::new(emu.admin_subject()).unwrap(),
        KeyReference::Named("emulator".into()),
        KeyOwnership::CustomerOwned,
    );
    s.api_base = Some(emu.base_url());
    RemoteSettings::from_typed(&s).unwrap()
}

/// Creates an active inbound integration for `emu` in `store` (the first one is the primary).
pub(crate) async fn active_integration(store: &dyn Store, emu: &RunningEmulator) -> IntegrationId {
    let new = NewIntegration::new(
        "Google (emulated)",
        DirectionKind::Inbound,
        settings(emu),
        Schedule::Manual,
        fixed_now(),
    )
    .unwrap();
    let mut any = store.create_integration(new).await.unwrap();
    match &mut any {
        AnyIntegration::Primary(i) => i.activate(authorization(emu)).unwrap(),
        AnyIntegration::Inbound(i) => i.activate(authorization(emu)).unwrap(),
        AnyIntegration::Outbound(i) => i.activate(authorization(emu)).unwrap(),
    }
    store.save_integration(&any).await.unwrap().id()
}

/// Moves a failed integration back to `Active` with a fresh authorization (what an admin's
/// reauthorize does once the grant is restored).
pub(crate) async fn reauthorize(store: &dyn Store, emu: &RunningEmulator, id: IntegrationId) {
    let mut any = store.integration(id).await.unwrap();
    match &mut any {
        AnyIntegration::Primary(i) => i.reauthorize(settings(emu), authorization(emu)).unwrap(),
        AnyIntegration::Inbound(i) => i.reauthorize(settings(emu), authorization(emu)).unwrap(),
        AnyIntegration::Outbound(i) => i.reauthorize(settings(emu), authorization(emu)).unwrap(),
    }
    store.save_integration(&any).await.unwrap();
}

/// A new SQLite file at `path` with an active primary integration for `emu`; the store is
/// closed again (so that the file can be copied).
pub(crate) async fn store_file(path: &Path, emu: &RunningEmulator) -> IntegrationId {
    let store = SqliteStore::open(path).unwrap();
    let id = active_integration(&store, emu).await;
    drop(store);
    id
}

/// Copies a closed store file (and its WAL, if any) to `to`.
pub(crate) fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for ext in ["-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{ext}", from.display()));
        if src.exists() {
            std::fs::copy(&src, format!("{}{ext}", to.display())).unwrap();
        }
    }
}

/// A run context at [`fixed_now`] with a 10-minute lease.
pub(crate) fn context<'a>(
    store: &'a dyn Store,
    policy: &'a Policy,
    holder: &str,
    progress: &'a dyn FetchProgress,
) -> RunContext<'a> {
    static CLOCK: fn() -> DateTime<Utc> = fixed_now;
    RunContext {
        store,
        policy,
        clock: &CLOCK,
        holder: holder.to_owned(),
        lease: chrono::Duration::minutes(10),
        progress,
        run_id: None,
        due_at: None,
    }
}

/// Every row of every table of a store file except those in `skip`, as text, table by table,
/// rows sorted: the file's logical content, read through a second (read-only) connection.
pub(crate) fn dump(path: &Path, skip: &[&str]) -> BTreeMap<String, Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for table in tables.into_iter().filter(|t| !skip.contains(&t.as_str())) {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                (0..width)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|cols| cols.join(" | "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.insert(table, rows);
    }
    out
}
