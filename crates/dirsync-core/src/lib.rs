//! # dirsync-core
//!
//! The domain of directory-sync: who owns what, which way data flows, and what a complete view
//! of a remote directory is. No IO here — the types hold the rules that every product built on
//! directory-sync must get right, so that breaking one is a compile error or a typed error.
//!
//! ## Contents
//! - **Identifiers and values**: [`IntegrationId`], [`UserId`], [`GroupId`], [`ExternalId`],
//!   [`Email`] (validated, case-insensitive), [`OrgUnitPath`], and secrets
//!   ([`AccessToken`], [`Secret`]) whose `Debug` is redacted and which have no `Display`.
//! - **Integrations** ([`Integration<D, R>`], [`AnyIntegration`]): direction and role as sealed
//!   type parameters, the [`IntegrationState`] machine, the [`Authorization`] record, [`Schedule`]s
//!   and [`SyncRule`]s.
//! - **The directory**: [`DirectoryUser`] (profile, lifecycle), per-integration [`Account`]s,
//!   [`Group`]s, [`Membership`]s, [`OrgUnit`]s.
//! - **Snapshots** ([`Snapshot`], built only by [`SnapshotBuilder::finish`]) and **change sets**
//!   ([`DirectoryChanges`] for the store, [`RemoteChanges`] for a remote).
//! - **Connector traits**: [`DirectorySource`] and [`DirectoryTarget`]; a connector crate
//!   plugs a system in with a [`ConnectorKind`] (its [`System`] id, [`TypedSettings`], what must
//!   be granted as a [`Grant`], and the [`AccessCheck`]s of its [`AccessReport`]).
//! - **Run records**: [`SyncRun`], [`HeldPlan`], [`PlanId`].
//!
//! ## The invariants, in types
//!
//! Only a store makes integrations; it makes the first inbound one the primary. Application code
//! then matches on [`AnyIntegration`]:
//!
//! ```
//! use chrono::Utc;
//! use dirsync_core::*;
//!
//! fn plan_for(integration: &AnyIntegration) -> Result<Option<DirectoryChanges>, Error> {
//!     Ok(match integration {
//!         // Only the primary can write profiles: it alone has `profile_authority()`.
//!         AnyIntegration::Primary(primary) => {
//!             let mut changes = DirectoryChanges::new(primary, Version::ZERO);
//!             let authority = primary.profile_authority();
//!             let profile = UserProfile::new(Email::new("ada@example.com")?);
//!             let op = authority.create_user(UserId::random(), profile, Utc::now(), None);
//!             changes.push(DirectoryOp::Profile(op));
//!             Some(changes)
//!         }
//!         // A secondary inbound integration may link accounts and contribute attributes.
//!         AnyIntegration::Inbound(secondary) => Some(DirectoryChanges::new(secondary, Version::ZERO)),
//!         // An outbound integration never writes the directory: `DirectoryChanges::new`
//!         // does not accept it, so there is nothing to write here.
//!         AnyIntegration::Outbound(_) => None,
//!     })
//! }
//! // No code outside a store can make one: `AnyIntegration::from_record` and
//! // `NewIntegration::into_record` exist only with the `backend` feature that store crates enable.
//! # Ok::<(), Error>(())
//! ```
//!
//! What does not compile (each is checked by the `compile_fail` tests in `tests/ui`):
//! making an `Integration<Inbound, Primary>` yourself, turning a primary into a secondary,
//! changing a direction, naming `Integration<Outbound, Primary>`, passing an outbound
//! integration where an inbound one is required, and asking a secondary for a
//! `profile_authority()`.
//!
//! ## Plugging in a system
//!
//! Core names no system. A connector crate types its settings and registers a
//! [`ConnectorKind`]; stores keep the settings as [`RemoteSettings`] (`{"system": …, …}`):
//!
//! ```
//! use dirsync_core::{Error, RemoteSettings, System, TypedSettings};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct HrExport {
//!     folder: String,
//! }
//!
//! impl TypedSettings for HrExport {
//!     const SYSTEM: System = System::from_static("hr_export");
//! }
//!
//! let settings = RemoteSettings::from_typed(&HrExport { folder: "/srv/hr".into() })?;
//! assert_eq!(settings.system().as_str(), "hr_export");
//! assert_eq!(settings.typed::<HrExport>()?.folder, "/srv/hr");
//! # Ok::<(), Error>(())
//! ```

#![warn(missing_docs)]

mod access;
mod account;
mod activity;
mod api_token;
mod assignment;
mod changes;
mod connector;
mod connector_kind;
mod directory_attributes;
mod email;
mod error;
mod group;
mod group_provisioning;
mod ids;
mod integration;
mod interval;
mod object_kind;
mod org_unit;
mod provisioning;
mod push_channel;
mod push_source;
mod remote_op;
mod rule;
mod run;
mod safeguards;
mod schedule;
mod scope;
mod secret;
mod snapshot;
mod text;
mod user;

pub use access::{AccessCheck, AccessDenied, AccessReport};
pub use account::{Account, AccountLink, AttributeValue, Attributes, LinkedBy};
pub use activity::{Activity, ActivityCursor, GroupRead};
pub use api_token::ApiToken;
pub use assignment::{GroupAssignment, OwnedMembership, OwnershipChange, Person, Selector};
pub use changes::{
    DirectoryChanges, DirectoryOp, ProfileAuthority, ProfileChange, ProfileOp, RemoteChanges,
    Version,
};
pub use connector::{
    DirectorySource, DirectoryTarget, FetchProgress, FetchRequest, FetchStats, Fetched,
    GroupTraits, NoProgress, RemoteApplyReport, RemoteOpOutcome,
};
pub use connector_kind::{
    ConnectRequest, Connection, ConnectorKind, Grant, NO_SUCH_SECRET, Secret, SecretReference,
    SecretStore,
};
pub use directory_attributes::{
    AttributeMapping, AttributeSource, DirectoryAttribute, DirectoryAttributes,
};
pub use email::Email;
pub use error::Error;
pub use group::{Group, Member, MemberKind, MemberRole, Membership, MembershipKey};
pub use group_provisioning::{GroupOrigin, GroupProvisioning, GroupSource, OwnedGroup};
pub use ids::{ExternalId, GroupId, IntegrationId, RuleId, RunId, UserId};
pub use integration::{
    AnyIntegration, Authorization, AuthorizationMethod, Direction, DirectionKind, Inbound,
    Integration, IntegrationRecord, IntegrationState, KeyOwnership, NewIntegration, Outbound,
    Primary, RemoteSettings, Role, RoleKind, Scope, Secondary, System, Transition, TypedSettings,
};
pub use interval::Interval;
pub use object_kind::{ObjectKind, ObjectKinds};
pub use org_unit::{OrgUnit, OrgUnitPath};
pub use provisioning::{
    MARKER_TYPE, MarkerOrigin, OrgUnitMapping, ProvisioningMarker, UserProvisioning,
};
pub use push_channel::PushChannel;
pub use push_source::{ChannelRequest, OpenedChannel, PushSource, UserRead};
pub use remote_op::{
    GroupFields, OrgUnitFields, RemoteOp, RemoteOpKind, RemoteOpKinds, UserFields,
};
pub use rule::{RETRY_BACKOFF_SECONDS, SyncRule, Trigger, due_rules, retry_delay};
pub use run::{HeldPlan, PlanId, RunOutcome, SyncRun};
pub use safeguards::{Safeguards, Threshold, percent};
pub use schedule::{DayOfMonth, Schedule, TimeOfDay};
pub use scope::ScopeFilter;
pub use secret::{AccessToken, ApiTokenSecret, ChannelToken};
pub use snapshot::{
    Completeness, DeletedUser, QuarantinedRecord, RemoteGroup, RemoteMember, RemoteOrgUnit,
    RemoteUser, Snapshot, SnapshotBuilder,
};
pub use user::{
    DirectoryUser, EmploymentType, Lifecycle, LifecycleEvent, LifecycleKind, Manager, PersonName,
    UserProfile, UserStatus,
};

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
