//! Operations on a remote system ([`RemoteOp`]): group members, and whole users, groups and org
//! units with typed payloads ([`UserFields`], [`GroupFields`], [`OrgUnitFields`]). Each
//! operation has a [`RemoteOpKind`]; a target declares the [`RemoteOpKinds`] it supports, and a
//! change set with a kind its target lacks is refused before anything is applied.
//!
//! ```
//! use dirsync_core::{
//!     Email, ExternalId, PersonName, RemoteOp, RemoteOpKind, RemoteOpKinds, UserFields,
//! };
//!
//! let ada = UserFields::new(Email::new("ada@example.com")?, PersonName::default())
//!     .with_employee_id("E-1");
//! let ops = [
//!     RemoteOp::CreateUser { fields: ada },
//!     RemoteOp::SuspendUser { user: ExternalId::new("1042")? },
//! ];
//! let members_only = RemoteOpKinds::membership();
//! let unsupported = RemoteOpKinds::used_by(&ops).difference(&members_only);
//! assert_eq!(unsupported.to_string(), "create_user, suspend_user");
//! assert!(unsupported.contains(RemoteOpKind::CreateUser));
//! # Ok::<(), dirsync_core::Error>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::clip;
use crate::{
    Email, EmploymentType, Error, ExternalId, MemberRole, OrgUnitPath, PersonName,
    ProvisioningMarker,
};

/// A user as a remote should hold it after a create or an update: the fields a connector
/// writes. On an update every field is set as given (an absent optional field is cleared).
/// Made with [`UserFields::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserFields {
    /// The primary email (Google: `primaryEmail`).
    pub primary_email: Email,
    /// The name.
    pub name: PersonName,
    /// The org unit the user lives in; `None` is the remote's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<OrgUnitPath>,
    /// The employee id (Google: `externalIds[type=organization]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    /// The manager's email (Google: `relations[type=manager]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_email: Option<Email>,
    /// Employee or contractor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employment_type: Option<EmploymentType>,
    /// The marker that makes the account known as ours ([`ProvisioningMarker`]); written with
    /// a create and with every update of an account we own or adopt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<ProvisioningMarker>,
    /// On a create: the account signs in only through single sign-on, so its random initial
    /// password need not be changed at first login.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sso_only: bool,
}

impl UserFields {
    /// A user with a primary email and a name, in the root org unit, with nothing else set.
    pub fn new(primary_email: Email, name: PersonName) -> Self {
        Self {
            primary_email,
            name,
            org_unit: None,
            employee_id: None,
            manager_email: None,
            employment_type: None,
            marker: None,
            sso_only: false,
        }
    }

    /// Carrying this marker.
    #[must_use]
    pub fn with_marker(mut self, marker: ProvisioningMarker) -> Self {
        self.marker = Some(marker);
        self
    }

    /// Signing in only through single sign-on (see [`UserFields::sso_only`]).
    #[must_use]
    pub fn with_sso_only(mut self, yes: bool) -> Self {
        self.sso_only = yes;
        self
    }

    /// In this org unit.
    #[must_use]
    pub fn with_org_unit(mut self, path: OrgUnitPath) -> Self {
        self.org_unit = Some(path);
        self
    }

    /// With this employee id.
    #[must_use]
    pub fn with_employee_id(mut self, id: impl Into<String>) -> Self {
        self.employee_id = Some(id.into());
        self
    }

    /// Managed by the user with this email.
    #[must_use]
    pub fn with_manager(mut self, email: Email) -> Self {
        self.manager_email = Some(email);
        self
    }

    /// Employee or contractor.
    #[must_use]
    pub fn with_employment_type(mut self, kind: EmploymentType) -> Self {
        self.employment_type = Some(kind);
        self
    }
}

/// A group as a remote should hold it after a create or an update. Made with
/// [`GroupFields::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupFields {
    /// The group's email.
    pub email: Email,
    /// Its name.
    pub name: String,
    /// Its description (empty for none).
    #[serde(default)]
    pub description: String,
}

impl GroupFields {
    /// A group with an email, a name and a description (empty for none).
    pub fn new(email: Email, name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            email,
            name: name.into(),
            description: description.into(),
        }
    }
}

/// An org unit to create: its full path (its parent must exist) and a description. Made with
/// [`OrgUnitFields::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrgUnitFields {
    /// The full path, e.g. `/Engineering/Platform`; its last segment is the unit's name.
    pub path: OrgUnitPath,
    /// Its description (empty for none).
    #[serde(default)]
    pub description: String,
}

impl OrgUnitFields {
    /// An org unit at `path` with a description (empty for none).
    pub fn new(path: OrgUnitPath, description: impl Into<String>) -> Self {
        Self {
            path,
            description: description.into(),
        }
    }
}

/// One operation on a remote system. Users and groups are named by their remote id once they
/// exist; members by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemoteOp {
    /// Add a member to a group (Google: `members.insert`; an existing member counts as done).
    InsertMember {
        /// The group's remote id.
        group: ExternalId,
        /// The member's email.
        member: Email,
        /// Role.
        role: MemberRole,
    },
    /// Remove a member from a group (Google: `members.delete`; a missing member counts as done).
    DeleteMember {
        /// The group's remote id.
        group: ExternalId,
        /// The member's email.
        member: Email,
    },
    /// Change an existing member's role in a group.
    SetMemberRole {
        /// The group's remote id.
        group: ExternalId,
        /// The member's email.
        member: Email,
        /// The new role.
        role: MemberRole,
    },
    /// Create a user.
    CreateUser {
        /// The user to create.
        fields: UserFields,
    },
    /// Update a user's fields.
    UpdateUser {
        /// The user's remote id.
        user: ExternalId,
        /// The fields as they should be.
        fields: UserFields,
    },
    /// Suspend a user (they can no longer sign in; nothing is deleted).
    SuspendUser {
        /// The user's remote id.
        user: ExternalId,
    },
    /// Reactivate a suspended user.
    ReactivateUser {
        /// The user's remote id.
        user: ExternalId,
    },
    /// Delete a user.
    DeleteUser {
        /// The user's remote id.
        user: ExternalId,
    },
    /// Create a group (without members).
    CreateGroup {
        /// The group to create.
        fields: GroupFields,
    },
    /// Update a group's fields.
    UpdateGroup {
        /// The group's remote id.
        group: ExternalId,
        /// The fields as they should be.
        fields: GroupFields,
    },
    /// Delete a group (and so its memberships).
    DeleteGroup {
        /// The group's remote id.
        group: ExternalId,
    },
    /// Create an org unit below an existing parent.
    CreateOrgUnit {
        /// The org unit to create.
        fields: OrgUnitFields,
    },
}

impl RemoteOp {
    /// The kind of operation.
    pub fn kind(&self) -> RemoteOpKind {
        match self {
            Self::InsertMember { .. } => RemoteOpKind::InsertMember,
            Self::DeleteMember { .. } => RemoteOpKind::DeleteMember,
            Self::SetMemberRole { .. } => RemoteOpKind::SetMemberRole,
            Self::CreateUser { .. } => RemoteOpKind::CreateUser,
            Self::UpdateUser { .. } => RemoteOpKind::UpdateUser,
            Self::SuspendUser { .. } => RemoteOpKind::SuspendUser,
            Self::ReactivateUser { .. } => RemoteOpKind::ReactivateUser,
            Self::DeleteUser { .. } => RemoteOpKind::DeleteUser,
            Self::CreateGroup { .. } => RemoteOpKind::CreateGroup,
            Self::UpdateGroup { .. } => RemoteOpKind::UpdateGroup,
            Self::DeleteGroup { .. } => RemoteOpKind::DeleteGroup,
            Self::CreateOrgUnit { .. } => RemoteOpKind::CreateOrgUnit,
        }
    }
}

impl fmt::Display for RemoteOp {
    /// For humans: `insert ada@example.com into 03abc`, `create user ada@example.com`, ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InsertMember { group, member, .. } => write!(f, "insert {member} into {group}"),
            Self::DeleteMember { group, member } => write!(f, "remove {member} from {group}"),
            Self::SetMemberRole {
                group,
                member,
                role,
            } => write!(f, "make {member} {role} of {group}"),
            Self::CreateUser { fields } => write!(f, "create user {}", fields.primary_email),
            Self::UpdateUser { user, fields } => {
                write!(f, "update user {user} ({})", fields.primary_email)
            }
            Self::SuspendUser { user } => write!(f, "suspend user {user}"),
            Self::ReactivateUser { user } => write!(f, "reactivate user {user}"),
            Self::DeleteUser { user } => write!(f, "delete user {user}"),
            Self::CreateGroup { fields } => write!(f, "create group {}", fields.email),
            Self::UpdateGroup { group, fields } => {
                write!(f, "update group {group} ({})", fields.email)
            }
            Self::DeleteGroup { group } => write!(f, "delete group {group}"),
            Self::CreateOrgUnit { fields } => write!(f, "create org unit {}", fields.path),
        }
    }
}

/// The kind of a [`RemoteOp`], one per variant: what a target declares it supports.
///
/// Spelled like the operation's `op` tag in text and JSON (`insert_member`, `create_user`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemoteOpKind {
    /// [`RemoteOp::InsertMember`].
    InsertMember,
    /// [`RemoteOp::DeleteMember`].
    DeleteMember,
    /// [`RemoteOp::SetMemberRole`].
    SetMemberRole,
    /// [`RemoteOp::CreateUser`].
    CreateUser,
    /// [`RemoteOp::UpdateUser`].
    UpdateUser,
    /// [`RemoteOp::SuspendUser`].
    SuspendUser,
    /// [`RemoteOp::ReactivateUser`].
    ReactivateUser,
    /// [`RemoteOp::DeleteUser`].
    DeleteUser,
    /// [`RemoteOp::CreateGroup`].
    CreateGroup,
    /// [`RemoteOp::UpdateGroup`].
    UpdateGroup,
    /// [`RemoteOp::DeleteGroup`].
    DeleteGroup,
    /// [`RemoteOp::CreateOrgUnit`].
    CreateOrgUnit,
}

impl RemoteOpKind {
    /// Every kind.
    pub const ALL: [Self; 12] = [
        Self::InsertMember,
        Self::DeleteMember,
        Self::SetMemberRole,
        Self::CreateUser,
        Self::UpdateUser,
        Self::SuspendUser,
        Self::ReactivateUser,
        Self::DeleteUser,
        Self::CreateGroup,
        Self::UpdateGroup,
        Self::DeleteGroup,
        Self::CreateOrgUnit,
    ];

    /// The canonical spelling, the operation's `op` tag: `insert_member`, `create_user`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsertMember => "insert_member",
            Self::DeleteMember => "delete_member",
            Self::SetMemberRole => "set_member_role",
            Self::CreateUser => "create_user",
            Self::UpdateUser => "update_user",
            Self::SuspendUser => "suspend_user",
            Self::ReactivateUser => "reactivate_user",
            Self::DeleteUser => "delete_user",
            Self::CreateGroup => "create_group",
            Self::UpdateGroup => "update_group",
            Self::DeleteGroup => "delete_group",
            Self::CreateOrgUnit => "create_org_unit",
        }
    }
}

impl fmt::Display for RemoteOpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for RemoteOpKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidValue {
                kind: "remote operation kind",
                value: clip(s),
                reason: "expected one of insert_member, delete_member, set_member_role, \
                         create_user, update_user, suspend_user, reactivate_user, delete_user, \
                         create_group, update_group, delete_group, create_org_unit"
                    .to_owned(),
            })
    }
}

/// A set of [`RemoteOpKind`]s, iterated in the order of [`RemoteOpKind::ALL`]: what a target
/// supports, or what a change set uses. May be empty.
///
/// Serialized as a list (`["insert_member","delete_member"]`); displayed as
/// `insert_member, delete_member`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemoteOpKinds(BTreeSet<RemoteOpKind>);

impl RemoteOpKinds {
    /// These kinds.
    pub fn new(kinds: impl IntoIterator<Item = RemoteOpKind>) -> Self {
        Self(kinds.into_iter().collect())
    }

    /// Inserting and deleting group members: what every target supported before whole-object
    /// operations existed, and what [`DirectoryTarget::supported_operations`] declares unless
    /// a target says otherwise.
    ///
    /// [`DirectoryTarget::supported_operations`]: crate::DirectoryTarget::supported_operations
    pub fn membership() -> Self {
        Self::new([RemoteOpKind::InsertMember, RemoteOpKind::DeleteMember])
    }

    /// Every kind.
    pub fn all() -> Self {
        Self::new(RemoteOpKind::ALL)
    }

    /// The kinds of `ops`.
    pub fn used_by<'a>(ops: impl IntoIterator<Item = &'a RemoteOp>) -> Self {
        Self::new(ops.into_iter().map(RemoteOp::kind))
    }

    /// Whether `kind` is in the set.
    pub fn contains(&self, kind: RemoteOpKind) -> bool {
        self.0.contains(&kind)
    }

    /// The kinds in this set that are not in `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        Self(self.0.difference(&other.0).copied().collect())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds, in order.
    pub fn iter(&self) -> impl Iterator<Item = RemoteOpKind> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<RemoteOpKind> for RemoteOpKinds {
    fn from_iter<I: IntoIterator<Item = RemoteOpKind>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl fmt::Display for RemoteOpKinds {
    /// `insert_member, delete_member`; `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, kind) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(kind.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::new(s).unwrap()
    }

    fn id(s: &str) -> ExternalId {
        ExternalId::new(s).unwrap()
    }

    /// One operation of every kind, in the order of [`RemoteOpKind::ALL`].
    fn one_of_each() -> Vec<RemoteOp> {
        let user = UserFields::new(
            email("ada@example.com"),
            PersonName {
                given: "Ada".into(),
                family: "Lovelace".into(),
                display: "Ada Lovelace".into(),
            },
        )
        .with_org_unit(OrgUnitPath::new("/Engineering").unwrap())
        .with_employee_id("E-1")
        .with_manager(email("grace@example.com"))
        .with_employment_type(EmploymentType::Contractor);
        let group = GroupFields::new(email("team@example.com"), "Team", "");
        vec![
            RemoteOp::InsertMember {
                group: id("g1"),
                member: email("ada@example.com"),
                role: MemberRole::Member,
            },
            RemoteOp::DeleteMember {
                group: id("g1"),
                member: email("ada@example.com"),
            },
            RemoteOp::SetMemberRole {
                group: id("g1"),
                member: email("ada@example.com"),
                role: MemberRole::Manager,
            },
            RemoteOp::CreateUser {
                fields: user.clone(),
            },
            RemoteOp::UpdateUser {
                user: id("u1"),
                fields: user,
            },
            RemoteOp::SuspendUser { user: id("u1") },
            RemoteOp::ReactivateUser { user: id("u1") },
            RemoteOp::DeleteUser { user: id("u1") },
            RemoteOp::CreateGroup {
                fields: group.clone(),
            },
            RemoteOp::UpdateGroup {
                group: id("g1"),
                fields: group,
            },
            RemoteOp::DeleteGroup { group: id("g1") },
            RemoteOp::CreateOrgUnit {
                fields: OrgUnitFields::new(
                    OrgUnitPath::new("/Engineering/Platform").unwrap(),
                    "platform team",
                ),
            },
        ]
    }

    #[test]
    fn every_operation_round_trips_through_json_tagged_by_its_kind() {
        let ops = one_of_each();
        assert_eq!(
            ops.iter().map(RemoteOp::kind).collect::<Vec<_>>(),
            RemoteOpKind::ALL
        );
        for op in &ops {
            let json = serde_json::to_value(op).unwrap();
            assert_eq!(json["op"], op.kind().as_str(), "{json}");
            assert_eq!(serde_json::from_value::<RemoteOp>(json).unwrap(), *op);
        }
    }

    #[test]
    fn payloads_have_a_stable_json_form() {
        let ops = one_of_each();
        assert_eq!(
            serde_json::to_value(&ops[3]).unwrap(),
            serde_json::json!({
                "op": "create_user",
                "fields": {
                    "primary_email": "ada@example.com",
                    "name": {"given": "Ada", "family": "Lovelace", "display": "Ada Lovelace"},
                    "org_unit": "/Engineering",
                    "employee_id": "E-1",
                    "manager_email": "grace@example.com",
                    "employment_type": "contractor"
                }
            })
        );
        // Optional fields may be left out; a bad email is refused.
        let minimal = r#"{"op":"create_user","fields":{"primary_email":"b@example.com",
            "name":{"given":"","family":"","display":""}}}"#;
        assert_eq!(
            serde_json::from_str::<RemoteOp>(minimal).unwrap(),
            RemoteOp::CreateUser {
                fields: UserFields::new(email("b@example.com"), PersonName::default())
            }
        );
        for bad in [
            r#"{"op":"create_group","fields":{"email":"not an email","name":"x"}}"#,
            r#"{"op":"rename_user","user":"u1"}"#,
            r#"{"op":"create_org_unit","fields":{"path":"no-slash"}}"#,
        ] {
            assert!(serde_json::from_str::<RemoteOp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_parse_display_and_round_trip() {
        for kind in RemoteOpKind::ALL {
            assert_eq!(kind.as_str().parse::<RemoteOpKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert!("insert-member".parse::<RemoteOpKind>().is_err());
        let set = RemoteOpKinds::new([RemoteOpKind::DeleteMember, RemoteOpKind::InsertMember]);
        assert_eq!(set, RemoteOpKinds::membership());
        assert_eq!(set.to_string(), "insert_member, delete_member");
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"["insert_member","delete_member"]"#
        );
        assert_eq!(
            serde_json::from_str::<RemoteOpKinds>(r#"["delete_member","insert_member"]"#).unwrap(),
            set
        );
        assert_eq!(RemoteOpKinds::default().to_string(), "none");
        assert_eq!(RemoteOpKinds::all().iter().count(), RemoteOpKind::ALL.len());
    }

    #[test]
    fn the_unsupported_kinds_of_a_change_set_are_named() {
        let ops = one_of_each();
        let used = RemoteOpKinds::used_by(&ops);
        assert_eq!(used, RemoteOpKinds::all());
        let missing = used.difference(&RemoteOpKinds::membership());
        assert!(!missing.contains(RemoteOpKind::InsertMember));
        assert!(missing.contains(RemoteOpKind::CreateOrgUnit));
        assert_eq!(missing.iter().count(), RemoteOpKind::ALL.len() - 2);
        assert!(
            RemoteOpKinds::used_by(&ops[..2])
                .difference(&RemoteOpKinds::membership())
                .is_empty()
        );
    }

    #[test]
    fn operations_read_for_humans() {
        let text: Vec<String> = one_of_each().iter().map(ToString::to_string).collect();
        assert_eq!(text[0], "insert ada@example.com into g1");
        assert_eq!(text[2], "make ada@example.com manager of g1");
        assert_eq!(text[3], "create user ada@example.com");
        assert_eq!(text[11], "create org unit /Engineering/Platform");
    }
}
