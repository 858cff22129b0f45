//! Memberships: [`Membership`], [`Role`], [`MemberType`] and adding or removing a member.

use std::collections::HashSet;

use super::{DIGITS, GroupEvent, Resolved, Tenant};
use crate::error::Error;

/// A member's `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `OWNER`.
    Owner,
    /// `MANAGER`.
    Manager,
    /// `MEMBER`.
    Member,
}

impl Role {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "OWNER",
            Self::Manager => "MANAGER",
            Self::Member => "MEMBER",
        }
    }

    /// Parses a wire value (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "OWNER" => Some(Self::Owner),
            "MANAGER" => Some(Self::Manager),
            "MEMBER" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A member's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberType {
    /// `USER` in the tenant (has `status`).
    User,
    /// `USER` outside the tenant domain (no `status`).
    ExternalUser,
    /// `GROUP` (nested group).
    Group,
    /// `CUSTOMER`: "all users in the domain"; no email, id = customer id.
    Customer,
}

impl MemberType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User | Self::ExternalUser => "USER",
            Self::Group => "GROUP",
            Self::Customer => "CUSTOMER",
        }
    }
}

/// One direct member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Member id (user id, group id, generated id for external users, customer id).
    pub id: String,
    /// Member email (`None` for `CUSTOMER`).
    pub email: Option<String>,
    /// Role in the group.
    pub role: Role,
    /// Kind of member.
    pub member_type: MemberType,
}

impl Tenant {
    /// Adds a member (user or group by email/id, the customer id, or an outside email) to a group.
    ///
    /// Errors: [`Error::NotFound`] for an unknown group or an unknown in-domain member,
    /// [`Error::AlreadyExists`] for an existing member, [`Error::Invalid`] for a cycle.
    pub fn add_member(
        &mut self,
        group_key: &str,
        member_key: &str,
        role: Role,
    ) -> Result<Membership, Error> {
        let gi = self
            .group_index_of(group_key)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        let membership = if member_key == self.customer_id {
            Membership {
                id: self.customer_id.clone(),
                email: None,
                role,
                member_type: MemberType::Customer,
            }
        } else {
            match self.resolve(member_key) {
                Some(Resolved::User(u)) => {
                    let user = self
                        .users
                        .get(u)
                        .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
                    Membership {
                        id: user.id.clone(),
                        email: Some(user.primary_email.clone()),
                        role,
                        member_type: MemberType::User,
                    }
                }
                Some(Resolved::Group(c)) => {
                    if self.group_reaches(c, gi) {
                        return Err(Error::Invalid("Cyclic memberships not allowed".to_owned()));
                    }
                    let child = self
                        .groups
                        .get(c)
                        .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
                    Membership {
                        id: child.id.clone(),
                        email: Some(child.email.clone()),
                        role,
                        member_type: MemberType::Group,
                    }
                }
                None => {
                    let key = member_key.to_ascii_lowercase();
                    let domain = key.rsplit_once('@').map(|(_, d)| d.to_owned());
                    match domain {
                        Some(d) if !self.owns_domain(&d) => {
                            let existing = self
                                .groups
                                .iter()
                                .flat_map(|g| g.members.iter())
                                .find(|m| {
                                    m.member_type == MemberType::ExternalUser
                                        && m.email.as_deref() == Some(&key)
                                })
                                .map(|m| m.id.clone());
                            let id = existing
                                .unwrap_or_else(|| format!("1{}", self.rng.string(DIGITS, 20)));
                            Membership {
                                id,
                                email: Some(key),
                                role,
                                member_type: MemberType::ExternalUser,
                            }
                        }
                        _ => return Err(Error::NotFound("memberKey".to_owned())),
                    }
                }
            }
        };
        let group = self
            .groups
            .get_mut(gi)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        if group.members.iter().any(|m| m.id == membership.id) {
            return Err(Error::AlreadyExists("Member already exists.".to_owned()));
        }
        group.members.push(membership.clone());
        let group_email = group.email.clone();
        let member = membership
            .email
            .clone()
            .unwrap_or_else(|| membership.id.clone());
        self.record_group(
            GroupEvent::AddMember,
            &group_email,
            Some((&member, membership.role.as_str())),
        );
        Ok(membership)
    }

    /// Index of a direct member of group `gi` by member id, email or alias.
    pub(crate) fn member_position(&self, gi: usize, member_key: &str) -> Option<usize> {
        let group = self.groups.get(gi)?;
        let key = member_key.to_ascii_lowercase();
        let id = match self.resolve(&key) {
            Some(Resolved::User(u)) => self.users.get(u).map(|u| u.id.clone()),
            Some(Resolved::Group(g)) => self.groups.get(g).map(|g| g.id.clone()),
            None => None,
        };
        group.members.iter().position(|m| {
            Some(&m.id) == id.as_ref()
                || m.id.eq_ignore_ascii_case(&key)
                || m.email.as_deref() == Some(key.as_str())
        })
    }

    /// Removes a direct member from a group. Errors: [`Error::NotFound`] naming `groupKey` or `memberKey`.
    pub fn remove_member(&mut self, group_key: &str, member_key: &str) -> Result<(), Error> {
        let gi = self
            .group_index_of(group_key)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        let pos = self
            .member_position(gi, member_key)
            .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
        if let Some(g) = self.groups.get_mut(gi) {
            let m = g.members.remove(pos);
            let group_email = g.email.clone();
            let member = m.email.unwrap_or(m.id);
            self.record_group(
                GroupEvent::RemoveMember,
                &group_email,
                Some((&member, m.role.as_str())),
            );
        }
        Ok(())
    }

    /// Sets a direct member's role and returns the membership. Errors: [`Error::NotFound`]
    /// naming `groupKey` or `memberKey`.
    pub fn set_member_role(
        &mut self,
        group_key: &str,
        member_key: &str,
        role: Role,
    ) -> Result<Membership, Error> {
        let gi = self
            .group_index_of(group_key)
            .ok_or_else(|| Error::NotFound("groupKey".to_owned()))?;
        let pos = self
            .member_position(gi, member_key)
            .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
        let member = self
            .groups
            .get_mut(gi)
            .and_then(|g| g.members.get_mut(pos))
            .ok_or_else(|| Error::NotFound("memberKey".to_owned()))?;
        member.role = role;
        let member = member.clone();
        if let Some(g) = self.groups.get(gi) {
            let group_email = g.email.clone();
            let key = member.email.clone().unwrap_or_else(|| member.id.clone());
            self.record_group(
                GroupEvent::ChangeMemberRole,
                &group_email,
                Some((&key, role.as_str())),
            );
        }
        Ok(member)
    }

    /// Whether `inner` is `outer` or reachable from it through nested group members.
    fn group_reaches(&self, from: usize, target: usize) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![from];
        while let Some(g) = stack.pop() {
            if g == target {
                return true;
            }
            if !seen.insert(g) {
                continue;
            }
            if let Some(group) = self.groups.get(g) {
                for m in group
                    .members
                    .iter()
                    .filter(|m| m.member_type == MemberType::Group)
                {
                    if let Some(&c) = self.group_index.get(&m.id) {
                        stack.push(c);
                    }
                }
            }
        }
        false
    }
}
