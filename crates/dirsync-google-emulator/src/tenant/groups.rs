//! Groups: [`Group`] and adding or removing one.

use super::{GroupEvent, LOWER_ALNUM, Membership, Tenant};
use crate::error::Error;

/// A group with its direct members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group id (15 characters).
    pub id: String,
    /// Group email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// `adminCreated`.
    pub admin_created: bool,
    /// Email aliases.
    pub aliases: Vec<String>,
    /// Direct members in insertion order; `directMembersCount` is their number.
    pub members: Vec<Membership>,
}

impl Tenant {
    /// Adds an (empty) group.
    pub fn add_group(&mut self, email: &str, name: &str) -> Result<Group, Error> {
        let email = email.to_ascii_lowercase();
        if self.group_index.contains_key(&email) || self.user_index.contains_key(&email) {
            return Err(Error::AlreadyExists(format!("email {email}")));
        }
        let mut id = format!("0{}", self.rng.string(LOWER_ALNUM, 14));
        while self.group_index.contains_key(&id) {
            id = format!("0{}", self.rng.string(LOWER_ALNUM, 14));
        }
        let group = Group {
            id,
            email,
            name: name.to_owned(),
            description: String::new(),
            admin_created: true,
            aliases: Vec::new(),
            members: Vec::new(),
        };
        self.push_group(group.clone());
        self.record_group(GroupEvent::CreateGroup, &group.email, None);
        Ok(group)
    }

    /// Sets a group's email (not one in use by another user or group), name and description.
    pub fn set_group_fields(
        &mut self,
        key: &str,
        email: &str,
        name: &str,
        description: &str,
    ) -> Result<Group, Error> {
        let i = self
            .group_index_of(key)
            .ok_or_else(|| Error::NotFound(format!("group {key}")))?;
        let email = email.to_ascii_lowercase();
        let taken = self.group_index.get(&email).is_some_and(|j| *j != i)
            || self.user_index.contains_key(&email);
        if taken {
            return Err(Error::AlreadyExists(format!("email {email}")));
        }
        let group = self
            .groups
            .get_mut(i)
            .ok_or_else(|| Error::NotFound(format!("group {key}")))?;
        group.email = email;
        group.name = name.to_owned();
        group.description = description.to_owned();
        let group = group.clone();
        self.rebuild_group_index();
        self.record_group(GroupEvent::ChangeGroupSettings, &group.email, None);
        Ok(group)
    }

    /// Deletes a group and removes it from the groups it was a member of.
    pub fn remove_group(&mut self, key: &str) -> Result<(), Error> {
        let i = self
            .group_index_of(key)
            .ok_or_else(|| Error::NotFound(format!("group {key}")))?;
        let group = self.groups.remove(i);
        let mut containing = Vec::new();
        for g in &mut self.groups {
            let before = g.members.len();
            g.members.retain(|m| m.id != group.id);
            if g.members.len() != before {
                containing.push(g.email.clone());
            }
        }
        self.rebuild_group_index();
        self.record_group(GroupEvent::DeleteGroup, &group.email, None);
        for parent in containing {
            self.record_group(
                GroupEvent::RemoveMember,
                &parent,
                Some((&group.email, "MEMBER")),
            );
        }
        Ok(())
    }
}
