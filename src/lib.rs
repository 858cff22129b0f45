//! # directory-sync
//!
//! Identity provisioning from Google Workspace, as Rust library crates. This facade re-exports
//! the workspace's crates under one name; depend on the individual crates if you want fewer
//! dependencies.
//!
//! | module | crate | holds |
//! |---|---|---|
//! | [`core`] | `dirsync-core` | domain types and the typed invariants |
//! | [`store`] | `dirsync-store` | the `Store` contract, in-memory backend, conformance suite |
//! | [`sqlite`] | `dirsync-sqlite` | the embedded SQLite backend |
//! | [`engine`] | `dirsync-engine` | the planner, safeguards and runner |
//! | [`google`] | `dirsync-google` | the Directory API connector |
//! | [`service`] | `dirsync-service` | the service API: lifecycle, rules, scheduler, runs |
//! | `emulator` | `dirsync-google-emulator` | a fake Directory API for tests and demos |
//!
//! ## Features
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `sqlite` | yes | [`sqlite`]: the embedded SQLite store (compiles SQLite in) |
//! | `google` | yes | [`google`] and `service::GoogleConnectors`: the Google Workspace connector (HTTP, TLS, `gcp_auth`) |
//! | `emulator` | no | `emulator`: the Google Workspace emulator, for tests and demos |
//!
//! With `default-features = false` the facade is the core, the store contract with its
//! in-memory backend, the engine and the service: bring your own store backend and connectors.
//! (`postgres`, `scim` and `server` features will come with those crates.)
//!
//! ```
//! use directory_sync::core::{Email, OrgUnitPath};
//! assert_eq!(Email::new("Ada@Example.com")?, Email::new("ada@example.com")?);
//! assert!(OrgUnitPath::new("/Eng/Platform")?.is_within(&OrgUnitPath::new("/Eng")?));
//! # Ok::<(), directory_sync::core::Error>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use dirsync_core as core;
pub use dirsync_engine as engine;
#[cfg(feature = "google")]
pub use dirsync_google as google;
#[cfg(feature = "emulator")]
pub use dirsync_google_emulator as emulator;
pub use dirsync_service as service;
#[cfg(feature = "sqlite")]
pub use dirsync_sqlite as sqlite;
pub use dirsync_store as store;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
