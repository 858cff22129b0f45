//! # dirsync-service
//!
//! The service API of directory-sync: one entry point, [`Service`], over a
//! [`Store`](dirsync_store::Store) and a [`Registry`] of connectors, for products to build
//! frontends and command-line tools on.
//!
//! - **Connectors plug in**: the [`Registry`] holds one
//!   [`ConnectorKind`](dirsync_core::ConnectorKind) per system ([`Registry::builtin`]: Google
//!   Workspace and files, with the default features); a product registers its own the same way.
//! - **Lifecycle**: [`create`](Service::create) (or the typed `create_google`) stores an
//!   integration `Staged` and returns the [`AdminInstructions`] (Google: the service account's
//!   client id and the exact scope strings); [`activate`](Service::activate) runs the
//!   connector's access checks (Google: each scope), records who authorized it and
//!   when, sets it `Active` and runs the initial sync; then
//!   [`deactivate`](Service::deactivate) / [`reactivate`](Service::reactivate),
//!   [`reauthorize`](Service::reauthorize) (new key or subject, or a provider-managed service
//!   account replaced by a customer-owned one) and [`remove`](Service::remove);
//!   [`update`](Service::update) edits the title, schedule, activation and the integration's
//!   own safeguard thresholds.
//! - **Rules and the scheduler**: [`add_rule`](Service::add_rule), [`rules`](Service::rules),
//!   [`remove_rule`](Service::remove_rule), [`run_rule`](Service::run_rule), and
//!   [`run_due`](Service::run_due), which runs the scheduled rules that are due and never a
//!   manual one.
//! - **Runs**: [`sync`](Service::sync), [`dry_run`](Service::dry_run) (and
//!   [`explain`](Service::explain) to name what a plan does), [`runs`](Service::runs),
//!   [`held_plans`](Service::held_plans), [`held_plan`](Service::held_plan) (review without
//!   fetching), [`approve`](Service::approve) and [`discard`](Service::discard) for a plan a
//!   safeguard held.
//! - **Progress** goes to a [`ProgressSink`]: a closure, a tokio channel, or [`Silent`];
//!   [`live_runs`](Service::live_runs) lists the runs under way in this process with what
//!   they have read so far, and [`start_rule`](Service::start_rule) starts one in the
//!   background.
//!
//! The service decides nothing about data itself: the engine plans and guards, the store
//! applies atomically, the connector fetches complete snapshots.
//!
//! ```
//! use std::sync::Arc;
//! use dirsync_core::{DirectionKind, Email, KeyOwnership, Schedule};
//! use dirsync_google::{GoogleSettings, KeyReference};
//! use dirsync_service::{CreateGoogle, Registry, Service, Silent};
//! use dirsync_google_emulator::{Emulator, EmulatorConfig, TenantSpec};
//! use dirsync_store::InMemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A fake Google tenant on 127.0.0.1, and its service-account key in a file.
//! let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(7, 40))).await?;
//! let dir = tempfile::tempdir()?;
//! let key = dir.path().join("key.json");
//! std::fs::write(&key, google.service_account_key_json())?;
//!
//! let service = Service::new(Arc::new(InMemoryStore::new()), Registry::builtin());
//! let mut settings = GoogleSettings::new(
//!     Email::new(google.admin_subject())?, KeyReference::File(key), KeyOwnership::CustomerOwned);
//! settings.api_base = Some(google.base_url());
//! let request = CreateGoogle::new("Google Workspace", DirectionKind::Inbound, settings, Schedule::Manual);
//! let created = service.create_google(request).await?;
//! println!("{}", created.instructions); // client id and scopes for the admin
//! assert!(created.integration.is_primary());
//!
//! let activated = service.activate(created.integration.id(), &Silent).await?;
//! assert!(activated.initial_run.is_some());
//! assert_eq!(service.store().users().await?.len(), google.tenant().live_users().count());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api_tokens;
mod attributes;
#[cfg(feature = "google")]
mod consent;
mod console_bootstrap;
mod error;
mod explain;
mod instructions;
mod lifecycle;
mod live;
mod metrics;
mod notify;
#[cfg(feature = "google")]
mod pending;
mod progress;
mod push;
mod query;
mod registry;
mod review;
mod rules;
mod scheduler;
mod scim;
mod sealed;
mod service;
mod status;
#[cfg(feature = "terminal")]
mod terminal;
mod update;
pub mod views;

pub use api_tokens::NewApiToken;
#[cfg(feature = "google")]
pub use consent::ConsentStart;
pub use console_bootstrap::{BOOTSTRAP_LIFETIME_MINUTES, BOOTSTRAP_NAME_PREFIX};
/// What Google's redirect carries back to a consent (`code`, `state` or `error`).
#[cfg(feature = "google")]
pub use dirsync_google::oauth::CallbackParams;
pub use error::Error;
pub use explain::{Action, PlannedChange};
pub use instructions::AdminInstructions;
#[cfg(feature = "google")]
pub use lifecycle::CreateGoogle;
pub use lifecycle::{Activated, CreateIntegration, Created, Reauthorize};
pub use live::LiveRun;
pub use notify::{Notification, Notifier};
#[cfg(feature = "google")]
pub use pending::{DEFAULT_CONSENT_EXPIRY, PendingConsents};
pub use progress::{Progress, ProgressSink, Silent};
pub use push::{ChannelChange, Notice, Polled, PushSettings, Received};
pub use query::UserQuery;
pub use registry::Registry;
pub use review::HeldPlanDetail;
pub use rules::{DueRun, NewRule};
pub use scim::NewScimIntegration;
pub use sealed::{SECRET_KEY_VAR, SealedSecrets, SecretKey};
pub use service::{DEFAULT_LEASE_SECONDS, DryRun, RunRetention, Service};
pub use status::{
    HeldSummary, IntegrationStatus, PushSummary, RunSummary, StatusReport, USERS_ONLY,
};
#[cfg(feature = "terminal")]
pub use terminal::TerminalProgress;
pub use update::IntegrationUpdate;

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(all(doctest, feature = "google"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
