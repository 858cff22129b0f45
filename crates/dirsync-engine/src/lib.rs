//! # dirsync-engine
//!
//! The planner and the applier of directory-sync.
//!
//! - **Planning is pure** ([`plan_primary`], [`plan_secondary`], [`plan_inbound`]): from a complete
//!   [`Snapshot`](dirsync_core::Snapshot), the store's [`LocalView`](dirsync_store::LocalView), a
//!   [`Policy`] and the instant passed in, it produces a [`Plan<ToDirectory>`]: a deterministic,
//!   serialisable value whose [`PlanId`](dirsync_core::PlanId) is the hash of its changes and
//!   the version they are based on. No IO, no clock.
//! - **Safety is part of the plan**: an empty snapshot where the store has data is refused;
//!   users missing from the source wait out a [`Grace`] (a deletion reported by the source is
//!   evidence enough); administrators are protected unless the policy says otherwise; duplicate
//!   emails are quarantined and never cause a delete; and [`Safeguards`] on users, groups and
//!   memberships to remove hold the plan ([`Plan::trips`]) until an approval names its id.
//! - **Running** ([`sync_inbound`], [`approve`]) is the only async part: take the integration's
//!   lease, fetch, plan, then apply in one store transaction with a version check — or hold the
//!   plan — and record a [`SyncRun`](dirsync_core::SyncRun) for every run.
//!
//! Only the primary writes profiles and lifecycles: [`plan_primary`] takes an
//! `Integration<Inbound, Primary>`, the only type with a `profile_authority()`, and
//! [`plan_secondary`] cannot produce a profile operation at all. Planning a secondary as if it
//! were the primary does not compile:
//!
//! ```compile_fail,E0308
//! use chrono::Utc;
//! use dirsync_core::*;
//! use dirsync_store::LocalView;
//! fn as_primary(secondary: &Integration<Inbound, Secondary>, s: &Snapshot, v: &LocalView) {
//!     let _ = dirsync_engine::plan_primary(secondary, s, v, &dirsync_engine::Policy::default(), Utc::now());
//! }
//! ```
//!
//! ```
//! use chrono::Utc;
//! use dirsync_core::*;
//! use dirsync_store::{InMemoryStore, Store};
//! use dirsync_engine::{Policy, plan_primary};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = InMemoryStore::new();
//! // Any system's settings: stores keep them as they are (connectors type and check them).
//! let settings = RemoteSettings::new(
//!     System::new("google_workspace")?,
//!     serde_json::json!({"subject": "admin@example.com"}),
//! )?;
//! let new = NewIntegration::new("Google", DirectionKind::Inbound, settings, Schedule::Manual, Utc::now())?;
//! let primary = store.create_integration(new).await?.into_primary().ok_or("not primary")?;
//!
//! // A complete snapshot with one user.
//! let mut b = SnapshotBuilder::new(ObjectKinds::only(ObjectKind::Users), ScopeFilter::everything(), Utc::now());
//! b.users_page(vec![RemoteUser::new(ExternalId::new("1")?, Email::new("ada@example.com")?)], None)?;
//! let snapshot = b.finish()?;
//!
//! let now = Utc::now();
//! let plan = plan_primary(&primary, &snapshot, &store.view(primary.id()).await?, &Policy::default(), now)?;
//! println!("{plan}"); // the dry run
//! assert!(!plan.is_held());
//! store.apply(plan.changes()).await?;
//!
//! // Planning again on the same snapshot finds nothing to do.
//! let again = plan_primary(&primary, &snapshot, &store.view(primary.id()).await?, &Policy::default(), now)?;
//! assert!(again.is_empty());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod error;
mod inbound;
mod lease;
mod outbound;
mod plan;
mod policy;
mod provision;
mod push;
mod run;

pub use error::Error;
pub use inbound::{plan_inbound, plan_primary, plan_secondary};
pub use outbound::{
    DirectoryFacts, GroupInputs, OutboundState, plan_outbound, settled_group_ownership,
    stale_ownership,
};
pub use plan::{Counts, Destination, OpKind, Plan, PlanReport, ToDirectory, ToRemote, Trip};
pub use policy::{Grace, OnMissing, OnSuspended, Policy, Safeguards, Threshold, percent};
pub use provision::desired::desired_groups;
pub use provision::groups::{
    DesiredGroup, DesiredMember, GroupSafeguards, GroupState, plan_groups,
};
pub use provision::{ProvisionPart, ProvisionState, plan_users};
pub use push::{PUSH_COUNT, Push, PushWindow, plan_push, removals, window_trip};
pub use run::{
    Clock, PushOutcome, RunContext, apply_push, approve, approve_outbound, dry_run_inbound,
    dry_run_outbound, sync_inbound, sync_outbound,
};

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
