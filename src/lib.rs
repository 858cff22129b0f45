//! # directory-sync
//!
//! Identity provisioning from Google Workspace, as Rust library crates. This facade re-exports
//! the workspace's crates under one name; depend on the individual crates if you want fewer
//! dependencies.
//!
//! | module | crate | holds |
//! |---|---|---|
//! | [`core`] | `directory-core` | domain types and the typed invariants |
//! | [`store`] | `store-traits` | the `Store` contract, in-memory backend, conformance suite |
//! | [`sqlite`] | `store-sqlite` | the embedded SQLite backend |
//! | [`engine`] | `sync-engine` | the planner, safeguards and runner |
//! | [`google`] | `google-connector` | the Directory API connector |
//! | [`service`] | `directory-service` | the service API: lifecycle, rules, scheduler, runs |
//!
//! ```
//! use directory_sync::core::{Email, OrgUnitPath};
//! assert_eq!(Email::new("Ada@Example.com")?, Email::new("ada@example.com")?);
//! assert!(OrgUnitPath::new("/Eng/Platform")?.is_within(&OrgUnitPath::new("/Eng")?));
//! # Ok::<(), directory_sync::core::Error>(())
//! ```

#![warn(missing_docs)]

pub use directory_core as core;
pub use directory_service as service;
pub use google_connector as google;
pub use store_sqlite as sqlite;
pub use store_traits as store;
pub use sync_engine as engine;

/// The README's code blocks, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
