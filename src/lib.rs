//! # directory-sync
//!
//! Identity provisioning as Rust library crates: read users, groups, memberships and org units
//! from a directory (Google Workspace first), diff them in a pure engine against a store, and
//! apply the difference — into the store for *inbound* integrations, out to the remote for
//! *outbound* ones. The rules products get wrong are typed invariants: the first inbound
//! integration is the **primary** and owns the unified profile and lifecycle; an integration's
//! **direction is fixed** at creation; **deletes only come from complete snapshots** and pass
//! safeguards.
//!
//! This facade re-exports the workspace's crates under one name, behind features:
//!
//! | module | crate | feature | holds |
//! |---|---|---|---|
//! | [`core`] | `dirsync-core` | always | domain types, the typed invariants, schedules, connector traits |
//! | [`store`] | `dirsync-store` | always | the `Store` contract, `InMemoryStore`, the conformance suite |
//! | [`engine`] | `dirsync-engine` | always | the planner, safeguards and runner |
//! | [`service`] | `dirsync-service` | always | the service API products build on |
//! | `sqlite` | `dirsync-sqlite` | `sqlite` (default) | the embedded SQLite store |
//! | `google` | `dirsync-google` | `google` (default) | the Google Workspace connector |
//! | `emulator` | `dirsync-google-emulator` | `emulator` | a Directory API emulator on 127.0.0.1 for your tests and demos |
//! | `server` | `dirsync-server` | `server` | the HTTP API as an axum router, to run alone or mount in yours |
//!
//! Depend on the individual crates instead if you want fewer dependencies. The `dirsync`
//! command line is the `dirsync` crate. With `default-features = false` the facade is the core,
//! the store contract with its in-memory backend, the engine, the service and SCIM 2.0
//! (`scim`: the service's inbound provider and outbound client; always built, the service
//! depends on it): bring your own store backend and connectors.
//!
//! # Embedding directory-sync in your product
//!
//! Your product (a provisioning service, an IdP, an internal tool) keeps one
//! [`Service`](service::Service) per process and builds its pages and API on it. The service
//! holds the lifecycle and the rules; it never plans or applies anything itself: the engine
//! plans and guards, the store applies atomically, the connector fetches complete snapshots.
//!
//! ## 1. Choose a store
//!
//! - **SQLite** (feature `sqlite`, the default): one file, WAL, schema migrations embedded —
//!   `SqliteStore::open("directory.db")`, or `SqliteStore::open_in_memory()`.
//! - **In memory**: [`store::InMemoryStore`] for tests and demos.
//! - **Your own**: implement [`store::Store`] and run the public conformance suite
//!   (`dirsync-store`'s feature `conformance`) against it, as every backend here does.
//!
//! ## 2. Connectors and secrets
//!
//! The service reaches every remote through a [`Registry`](service::Registry) of connector
//! kinds ([`ConnectorKind`](core::ConnectorKind)): [`Registry::builtin`](service::Registry::builtin)
//! has Google Workspace ([`GoogleKind`](google::GoogleKind)); a product registers its own system
//! the same way, without a fork. Google's kind reads service-account key files, or keys your
//! secret manager holds under a name ([`KeyReference::Named`](google::KeyReference::Named)),
//! through a [`SecretStore`](core::SecretStore) you provide. Secrets never appear in a `Debug`,
//! a log line or an error message: [`Secret`](core::Secret) and
//! [`ServiceAccountKey`](google::ServiceAccountKey) print `[redacted]`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use directory_sync::core::{Error, Secret, SecretStore};
//! use directory_sync::google::GoogleKind;
//! use directory_sync::service::{Registry, Service};
//! use directory_sync::sqlite::SqliteStore;
//!
//! /// Keys from your vault, by name.
//! struct Vault;
//!
//! impl SecretStore for Vault {
//!     fn secret(&self, name: &str) -> Result<Secret, Error> {
//!         match std::env::var(format!("KEY_{name}")) {
//!             Ok(json) => Ok(Secret::new(json)),
//!             Err(_) => Err(Error::Credential { reference: name.to_owned(), reason: "not in the vault".into() }),
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let google = GoogleKind::new()
//!     .with_secrets(Arc::new(Vault))
//!     // Every connector: more listings in flight, for tenants with a raised quota.
//!     .customize(|builder| builder.concurrency(16));
//! let registry = Registry::builtin().with(google);
//! let service = Service::new(Arc::new(SqliteStore::open("directory.db")?), registry);
//! # drop(service); Ok(()) }
//! ```
//!
//! ## 3. The integration's life, from your pages
//!
//! AppsCo's flow — *Add integration*, authorize, *Manage integration* — maps onto the service:
//! [`create`](service::Service::create) (or the typed
//! [`create_google`](service::Service::create_google)) stores it `Staged` and returns the
//! [`AdminInstructions`](service::AdminInstructions) to show (Google: client id and exact
//! scopes); [`activate`](service::Service::activate) runs the access checks (every scope), records who authorized it and
//! when, and runs the initial sync; [`update`](service::Service::update) is the *Settings* form
//! (title, schedule, active, safeguards); [`reauthorize`](service::Service::reauthorize) and
//! [`remove`](service::Service::remove) are the buttons. A run held by a safeguard is reviewed
//! with [`held_plan`](service::Service::held_plan) and [`explain`](service::Service::explain),
//! then [`approve`](service::Service::approve)d or [`discard`](service::Service::discard)ed.
//!
//! ## 4. Syncs from a web handler, with progress
//!
//! A sync takes seconds to minutes: run it on a task, not in the request. The service is
//! `Send + Sync`; share it in an `Arc`. Progress goes to any
//! [`ProgressSink`](service::ProgressSink): a closure, a tokio channel (stream it to the page as
//! server-sent events), [`Silent`](service::Silent), or `dirsync-service`'s `TerminalProgress`
//! (feature `terminal`) for command-line tools. Only one run of an integration holds its lease
//! at a time; a second one is refused (show it as "busy"), never run twice.
//!
//! ## 5. Errors to show people
//!
//! [`service::Error`] says what the caller can do: `Access` with `MissingScopes` names the exact
//! scopes the Workspace admin must grant, with `Unauthorized` the key or delegated admin was
//! refused (reauthorize), `WrongState` names the state an action needs. A run that was recorded is not
//! an error: its [`RunOutcome`](core::RunOutcome) is succeeded, no change, held (with the plan
//! to review) or failed (with the reason).
//!
//! The whole journey, runnable (against the emulator on 127.0.0.1 standing in for Google):
//!
//! ```
//! use std::sync::Arc;
//! use directory_sync::core::{
//!     AccessDenied, DirectionKind, Email, Interval, KeyOwnership, RunOutcome, Schedule,
//! };
//! use directory_sync::google::{GoogleSettings, KeyReference};
//! use directory_sync::service::{
//!     CreateGoogle, Error, IntegrationUpdate, Progress, Registry, Service, Silent,
//! };
//! use directory_sync::sqlite::SqliteStore;
//! use directory_sync::store::Error as StoreError;
//! # use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};
//!
//! /// What a page shows when a call fails.
//! fn for_people(e: &Error) -> String {
//!     match e {
//!         Error::Access(AccessDenied::MissingScopes { scopes }) => format!(
//!             "Ask a Google Workspace super admin to grant: {}",
//!             scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
//!         ),
//!         Error::Access(AccessDenied::Unauthorized { .. }) => {
//!             "Google refused the credentials; reauthorize.".into()
//!         }
//!         Error::WrongState { .. } => e.to_string(),
//!         Error::Store(StoreError::Leased { .. }) => "A sync is running; try again later.".into(),
//!         Error::Store(StoreError::NotFound { .. }) => "No such integration.".into(),
//!         _ => "Something went wrong; the details are in the logs.".into(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(7, 40))).await?;
//! # let dir = tempfile::tempdir()?;
//! # let key_file = dir.path().join("key.json");
//! # std::fs::write(&key_file, google.service_account_key_json())?;
//! // At start-up: one service for the whole process.
//! let store = SqliteStore::open(dir.path().join("directory.db"))?;
//! let service = Arc::new(Service::new(Arc::new(store), Registry::builtin()));
//!
//! // "Add integration": stored staged, with what the admin must grant.
//! let mut settings = GoogleSettings::new(
//!     Email::new(google.admin_subject())?,
//!     KeyReference::File(key_file),
//!     KeyOwnership::CustomerOwned,
//! );
//! # settings.api_base = Some(google.base_url());
//! let created = service
//!     .create_google(CreateGoogle::new(
//!         "Google Workspace",
//!         DirectionKind::Inbound,
//!         settings,
//!         Schedule::every(Interval::from_minutes(30)?),
//!     ))
//!     .await?;
//! let id = created.integration.id();
//! println!("{}", created.instructions);
//!
//! // Once granted: verify, record who authorized it, initial sync.
//! service.activate(id, &Silent).await?;
//! // Activating twice is refused with a reason a page can show.
//! let again = service.activate(id, &Silent).await.unwrap_err();
//! assert!(for_people(&again).contains("active"));
//!
//! // "Settings": a new title and an hourly schedule, in one save.
//! let update = IntegrationUpdate::new()
//!     .title("Google Workspace (acme.com)")
//!     .schedule(Schedule::every(Interval::from_hours(1)?));
//! service.update(id, update).await?;
//!
//! // "Sync now" from a request handler: the run goes on a task, progress streams back.
//! let (progress, mut events) = tokio::sync::mpsc::unbounded_channel();
//! let job = tokio::spawn({
//!     let service = Arc::clone(&service);
//!     async move { service.sync(id, &progress).await }
//! });
//! while let Some(event) = events.recv().await {
//!     if let Progress::Fetched { kind, items, .. } = event {
//!         println!("{kind}: {items} so far"); // e.g. one server-sent event each
//!     }
//! }
//! let run = job.await??;
//! match &run.outcome {
//!     RunOutcome::Held { plan } => {
//!         // Review without fetching again, then approve (or discard).
//!         let held = service.held_plan(plan).await?;
//!         for change in service.explain(&held.plan).await? {
//!             println!("{change}");
//!         }
//!         service.approve(plan).await?;
//!     }
//!     RunOutcome::Failed { reason } => println!("failed: {reason}"),
//!     _ => println!("synced: {:?}", run.counts),
//! }
//! assert_eq!(service.store().users().await?.len(), google.tenant().live_users().count());
//! # Ok(()) }
//! ```
//!
//! ## 6. Scheduling
//!
//! Each integration has a [`Schedule`](core::Schedule): manual, every N minutes or hours, or
//! daily, weekly or monthly at a time in an IANA time zone. Call
//! [`run_due`](service::Service::run_due) every few minutes (a tokio interval in your server, or
//! `dirsync scheduler:run-due` from cron): it runs the scheduled rules that are due, never a
//! manual one.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use dirsync_core as core;
pub use dirsync_engine as engine;
#[cfg(feature = "file")]
pub use dirsync_file as file;
#[cfg(feature = "google")]
pub use dirsync_google as google;
#[cfg(feature = "emulator")]
pub use dirsync_google_emulator as emulator;
#[cfg(feature = "postgres")]
pub use dirsync_postgres as postgres;
pub use dirsync_scim as scim;
#[cfg(feature = "server")]
pub use dirsync_server as server;
pub use dirsync_service as service;
#[cfg(feature = "sqlite")]
pub use dirsync_sqlite as sqlite;
pub use dirsync_store as store;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
