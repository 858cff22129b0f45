//! Change sets: the operations a store applies for an inbound integration
//! ([`DirectoryChanges`]) and a remote applies for an outbound one ([`RemoteChanges`]).
//!
//! They are distinct types, so a change set for the directory cannot be sent to a remote or the
//! other way round. A change set is made for one integration, from its typed form:
//! [`DirectoryChanges::new`] accepts only inbound integrations and [`RemoteChanges::new`] only
//! outbound ones. Profile and lifecycle operations ([`ProfileOp`]) can only be made through a
//! [`ProfileAuthority`], which only the primary hands out.
//!
//! ```
//! # use chrono::Utc;
//! # use dirsync_core::*;
//! # fn demo(primary: &Integration<Inbound, Primary>, secondary: &Integration<Inbound>) -> Result<(), Error> {
//! let mut changes = DirectoryChanges::new(primary, Version::ZERO);
//! let authority = primary.profile_authority();
//! let profile = UserProfile::new(Email::new("ada@example.com")?);
//! changes.push(DirectoryOp::Profile(authority.create_user(UserId::random(), profile, Utc::now(), None)));
//!
//! // A secondary can link accounts and add attributes, but has no `profile_authority()`.
//! let enrich = DirectoryChanges::new(secondary, Version::ZERO);
//! assert!(enrich.is_empty());
//! # Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Account, EmploymentType, ExternalId, Group, Inbound, Integration, IntegrationId,
    LifecycleEvent, LifecycleKind, Membership, MembershipKey, OrgUnit, Outbound, RemoteOp,
    RemoteOpKinds, Role, Secondary, UserId, UserProfile,
};

/// The version of one integration's data in a store: every applied non-empty change set bumps it
/// by one. A change set names the version it was planned against; applying it to any other
/// version is a conflict.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    /// The version of an integration with no data yet.
    pub const ZERO: Version = Version(0);

    /// The version after one more apply.
    pub fn next(self) -> Version {
        Version(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// The capability to write unified profiles and lifecycles, borrowed from the primary
/// integration ([`Integration::<Inbound, Primary>::profile_authority`](Integration::profile_authority)).
#[derive(Debug)]
pub struct ProfileAuthority<'a> {
    integration: IntegrationId,
    _primary: PhantomData<&'a ()>,
}

impl ProfileAuthority<'_> {
    pub(crate) fn new(integration: IntegrationId) -> Self {
        Self {
            integration,
            _primary: PhantomData,
        }
    }

    /// The primary integration this authority comes from.
    pub fn integration(&self) -> IntegrationId {
        self.integration
    }

    /// Provision a new directory user, active from `at`.
    pub fn create_user(
        &self,
        user: UserId,
        profile: UserProfile,
        at: DateTime<Utc>,
        employment_type: Option<EmploymentType>,
    ) -> ProfileOp {
        ProfileOp(ProfileChange::CreateUser {
            user,
            profile,
            event: LifecycleEvent {
                at,
                kind: LifecycleKind::Provisioned,
                employment_type,
            },
        })
    }

    /// Replace a user's profile.
    pub fn update_profile(&self, user: UserId, profile: UserProfile) -> ProfileOp {
        ProfileOp(ProfileChange::UpdateProfile { user, profile })
    }

    /// Record a lifecycle transition (suspended, reactivated, deprovisioned, re-provisioned).
    pub fn lifecycle(&self, user: UserId, event: LifecycleEvent) -> ProfileOp {
        ProfileOp(ProfileChange::Lifecycle { user, event })
    }
}

/// A profile or lifecycle operation. Made only through a [`ProfileAuthority`]; the store also
/// checks on apply that it comes from the integration it recorded as primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileOp(ProfileChange);

impl ProfileOp {
    /// What the operation does.
    pub fn change(&self) -> &ProfileChange {
        &self.0
    }

    /// The directory user it concerns.
    pub fn user(&self) -> UserId {
        match &self.0 {
            ProfileChange::CreateUser { user, .. }
            | ProfileChange::UpdateProfile { user, .. }
            | ProfileChange::Lifecycle { user, .. } => *user,
        }
    }
}

/// The content of a [`ProfileOp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProfileChange {
    /// Provision a new directory user (status active, one `provisioned` event).
    CreateUser {
        /// The new user's id.
        user: UserId,
        /// Profile.
        profile: UserProfile,
        /// The `provisioned` event.
        event: LifecycleEvent,
    },
    /// Replace an existing user's profile.
    UpdateProfile {
        /// The user.
        user: UserId,
        /// The new profile.
        profile: UserProfile,
    },
    /// Apply a lifecycle transition to an existing user.
    Lifecycle {
        /// The user.
        user: UserId,
        /// The transition.
        event: LifecycleEvent,
    },
}

/// One operation on the store, within one integration's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DirectoryOp {
    /// Create or replace an account (its link, attributes, seen times, missing marks).
    UpsertAccount(Account),
    /// Remove an account.
    RemoveAccount {
        /// Its remote id.
        external_id: ExternalId,
    },
    /// Create or replace a group.
    UpsertGroup(Group),
    /// Remove a group (and its memberships, as members or as the group).
    RemoveGroup {
        /// Its remote id.
        external_id: ExternalId,
    },
    /// Create or replace a membership.
    UpsertMembership(Membership),
    /// Remove a membership.
    RemoveMembership(MembershipKey),
    /// Create or replace an org unit.
    UpsertOrgUnit(OrgUnit),
    /// Remove an org unit.
    RemoveOrgUnit {
        /// Its remote id.
        external_id: ExternalId,
    },
    /// A profile or lifecycle change (primary only).
    Profile(ProfileOp),
}

/// The operations to apply to the store for one inbound integration, in order, planned against
/// one version of its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryChanges {
    integration: IntegrationId,
    base: Version,
    ops: Vec<DirectoryOp>,
}

impl DirectoryChanges {
    /// An empty change set for an inbound integration, based on `base`.
    pub fn new<R: Role<Inbound>>(integration: &Integration<Inbound, R>, base: Version) -> Self {
        Self {
            integration: integration.id(),
            base,
            ops: Vec::new(),
        }
    }

    /// Appends an operation.
    pub fn push(&mut self, op: DirectoryOp) {
        self.ops.push(op);
    }

    /// The integration the changes belong to.
    pub fn integration(&self) -> IntegrationId {
        self.integration
    }

    /// The version they were planned against.
    pub fn base(&self) -> Version {
        self.base
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[DirectoryOp] {
        &self.ops
    }

    /// The operations, in order, taken out.
    pub fn into_ops(self) -> Vec<DirectoryOp> {
        self.ops
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether any operation writes profiles or lifecycles.
    pub fn touches_profiles(&self) -> bool {
        self.ops
            .iter()
            .any(|op| matches!(op, DirectoryOp::Profile(_)))
    }
}

impl Extend<DirectoryOp> for DirectoryChanges {
    fn extend<T: IntoIterator<Item = DirectoryOp>>(&mut self, iter: T) {
        self.ops.extend(iter);
    }
}

/// The operations to apply to the remote for one outbound integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteChanges {
    integration: IntegrationId,
    base: Version,
    ops: Vec<RemoteOp>,
}

impl RemoteChanges {
    /// An empty change set for an outbound integration, based on `base` (the version of the
    /// ownership records it was planned against).
    pub fn new(integration: &Integration<Outbound, Secondary>, base: Version) -> Self {
        Self {
            integration: integration.id(),
            base,
            ops: Vec::new(),
        }
    }

    /// Appends an operation.
    pub fn push(&mut self, op: RemoteOp) {
        self.ops.push(op);
    }

    /// The integration the changes belong to.
    pub fn integration(&self) -> IntegrationId {
        self.integration
    }

    /// The version they were planned against.
    pub fn base(&self) -> Version {
        self.base
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[RemoteOp] {
        &self.ops
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The kinds of operation it uses: a target must support them all (see
    /// [`DirectoryTarget::supported_operations`](crate::DirectoryTarget::supported_operations)).
    pub fn kinds(&self) -> RemoteOpKinds {
        RemoteOpKinds::used_by(&self.ops)
    }
}
