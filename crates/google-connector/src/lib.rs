//! # google-connector
//!
//! The Google Workspace Admin SDK Directory API connector of directory-sync. **Not built yet**:
//! this crate is filled by the connector issue. It will implement
//! [`DirectorySource`](directory_core::DirectorySource) (validate access scope by scope; fetch
//! org units, users, deleted users, groups and members at maximum page sizes into a complete
//! [`Snapshot`](directory_core::Snapshot)) and [`DirectoryTarget`](directory_core::DirectoryTarget)
//! (idempotent `members.insert` / `members.delete`), with `gcp_auth` service-account auth and
//! domain-wide delegation, retries decided by Google's error reason, and client-side pacing.
//!
//! The scopes it will ask the admin to grant are already defined in `directory-core`:
//!
//! ```
//! use directory_core::{DirectionKind, ObjectKind, google_required_scopes, google_scopes};
//! let scopes = google_required_scopes(DirectionKind::Inbound, ObjectKind::ALL);
//! assert!(scopes.iter().any(|s| s.as_str() == google_scopes::USER_READONLY));
//! assert!(scopes.iter().all(|s| s.as_str() != google_scopes::GROUP_MEMBER));
//! ```

#![warn(missing_docs)]

pub use directory_core;
