//! # sync-engine
//!
//! The pure planner and the safe applier of directory-sync. **Not built yet**: this crate is
//! filled by the sync-engine issue. It will hold:
//!
//! - `plan`: from a complete [`Snapshot`](directory_core::Snapshot), a store's
//!   [`LocalView`](store_traits::LocalView) and a policy, a deterministic, serialisable plan with
//!   a stable id — no IO, time passed in; profile and lifecycle changes only for the primary
//!   (through [`ProfileAuthority`](directory_core::ProfileAuthority));
//! - safeguards per object type (count and percentage), grace before deprovisioning, held
//!   plans applied only by approving their id;
//! - `apply`: one [`Store::apply`](store_traits::Store::apply) with the version check, and the
//!   [`SyncRun`](directory_core::SyncRun) record of every run;
//! - the scheduler that picks due rules ([`directory_core::due_rules`] never returns a manual
//!   rule).
//!
//! What exists today is the foundation it builds on: the domain types and invariants in
//! `directory-core` and the store contract in `store-traits`.
//!
//! ```
//! // The engine will consume these types; they exist and are usable now.
//! use directory_core::{DirectoryChanges, Snapshot};
//! use store_traits::{LocalView, Store};
//! # fn _uses(_: Option<(&DirectoryChanges, &Snapshot, &LocalView, &dyn Store)>) {}
//! ```

#![warn(missing_docs)]

pub use directory_core;
pub use store_traits;
