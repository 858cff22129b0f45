//! # dirsync-store
//!
//! The storage contract of directory-sync — the [`Store`] trait — with:
//! - [`InMemoryStore`], the reference backend (tests, examples);
//! - [`FaultyStore`], a decorator that injects failures;
//! - [`transaction`], the store's rules written once over backend primitives, so every backend
//!   enforces the same ones;
//! - `conformance` (feature `conformance`), the public suite every backend runs in full.
//!
//! Stores are used as `Arc<dyn Store>`. The first inbound integration created becomes the
//! primary; outbound ones never do:
//!
//! ```
//! use std::sync::Arc;
//! use chrono::Utc;
//! use dirsync_core::*;
//! use dirsync_store::{InMemoryStore, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
//! // Any system's settings: stores keep them as they are (connectors type and check them).
//! let settings = RemoteSettings::new(
//!     System::new("google_workspace")?,
//!     serde_json::json!({"subject": "admin@example.com"}),
//! )?;
//! let outbound = NewIntegration::new("Groups out", DirectionKind::Outbound, settings.clone(), Schedule::Manual, Utc::now())?;
//! let inbound = NewIntegration::new("Google in", DirectionKind::Inbound, settings, Schedule::Manual, Utc::now())?;
//! assert!(!store.create_integration(outbound).await?.is_primary());
//! assert!(store.create_integration(inbound).await?.is_primary());
//!
//! // The primary is the only integration that can write profiles.
//! let primary = store.primary().await?.ok_or("no primary")?;
//! let mut changes = DirectoryChanges::new(&primary, store.version(primary.id()).await?);
//! let profile = UserProfile::new(Email::new("Ada@Example.com")?);
//! let ada = UserId::random();
//! changes.push(DirectoryOp::Profile(primary.profile_authority().create_user(ada, profile, Utc::now(), None)));
//! store.apply(&changes).await?;
//! let found = store.user_by_email(&Email::new("ada@example.com")?).await?;
//! assert_eq!(found.map(|u| u.id), Some(ada));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod faulty;
mod memory;
#[cfg(test)]
mod memory_props;
mod store;
pub mod transaction;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use error::{BoxError, Error, Result};
pub use faulty::{FaultPoint, FaultyStore, Operation};
pub use memory::InMemoryStore;
pub use store::{Applied, Lease, LocalView, Removed, Store};

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
