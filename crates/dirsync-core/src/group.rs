//! Groups and memberships, kept per integration with their remote ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Email, ExternalId, GroupId, IntegrationId};

/// A group one integration sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Directory identifier.
    pub id: GroupId,
    /// The integration that sees it.
    pub integration: IntegrationId,
    /// The remote's immutable id.
    pub external_id: ExternalId,
    /// The group's email.
    pub email: Email,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
}

/// What kind of principal a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A user (inside or outside the domain).
    User,
    /// A nested group.
    Group,
    /// Everyone in the customer's domain (Google's `CUSTOMER` member).
    Customer,
}

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Owner.
    Owner,
    /// Manager.
    Manager,
    /// Member.
    Member,
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Member => "member",
        })
    }
}

/// The member side of a membership.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    /// User, nested group or customer.
    pub kind: MemberKind,
    /// The remote's id of the member.
    pub external_id: ExternalId,
    /// The member's email, when it has one.
    pub email: Option<Email>,
}

/// A membership of one member in one group, as one integration sees it.
/// Its identity is (integration, group, member kind, member id); role and email are data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The integration that sees it.
    pub integration: IntegrationId,
    /// The group's remote id.
    pub group: ExternalId,
    /// The member.
    pub member: Member,
    /// The member's role.
    pub role: MemberRole,
}

impl Membership {
    /// The identity of this membership inside its integration.
    pub fn key(&self) -> MembershipKey {
        MembershipKey {
            group: self.group.clone(),
            kind: self.member.kind,
            member: self.member.external_id.clone(),
        }
    }
}

/// The identity of a membership inside one integration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MembershipKey {
    /// The group's remote id.
    pub group: ExternalId,
    /// The member's kind.
    pub kind: MemberKind,
    /// The member's remote id.
    pub member: ExternalId,
}
