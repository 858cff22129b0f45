//! The outbound group planner: from the directory groups a [`GroupProvisioning`] rule
//! provisions (their fields and direct members), the remote's groups and members and the
//! integration's group ownership records, the groups to create, update and delete and the
//! members to insert, re-role and remove. Pure: no IO, no clock. Target-neutral: groups are
//! named by email until the remote gives them an id.
//!
//! A remote group is ours when the store records it ([`OwnedGroup`]): created (or pending: an
//! insert whose answer was not seen, and the group is there now) or adopted. Ours, it is made
//! to hold exactly the directory group's members (users with an account in the remote, and
//! nested groups that are provisioned too), with the directory's roles. A group with the
//! email of a directory group that is not ours is adopted only under a fully managed rule,
//! and otherwise reported as a conflict and left untouched. Only groups this integration
//! created are ever deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dirsync_core::{
    Email, ExternalId, GroupFields, GroupOrigin, GroupProvisioning, GroupTraits, MemberKind,
    MemberRole, ObjectKind, OwnedGroup, QuarantinedRecord, RemoteGroup, RemoteMember, RemoteOp,
    Threshold,
};

use super::ProvisionPart;
use crate::plan::{OpKind, Trip};

/// A member a provisioned group should have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DesiredMember {
    /// The member's email in the remote.
    pub email: Email,
    /// A user or a (nested) group.
    pub kind: MemberKind,
    /// Its role.
    pub role: MemberRole,
}

impl DesiredMember {
    /// A member with this email, kind and role.
    pub fn new(email: Email, kind: MemberKind, role: MemberRole) -> Self {
        Self { email, kind, role }
    }
}

/// A directory group to provision: the fields the remote group should have and its direct
/// members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DesiredGroup {
    /// Email, name and description.
    pub fields: GroupFields,
    /// Direct members (users and nested groups).
    pub members: Vec<DesiredMember>,
}

impl DesiredGroup {
    /// A group with these fields and direct members.
    pub fn new(fields: GroupFields, members: Vec<DesiredMember>) -> Self {
        Self { fields, members }
    }
}

/// What the group planner reads.
#[derive(Debug, Clone, Copy)]
pub struct GroupState<'a> {
    /// The rule.
    pub rule: &'a GroupProvisioning,
    /// The directory groups to provision.
    pub desired: &'a [DesiredGroup],
    /// Every group in the remote.
    pub groups: &'a [RemoteGroup],
    /// The members of the remote's groups (at least of ours).
    pub members: &'a [RemoteMember],
    /// The integration's group ownership records.
    pub owned: &'a [OwnedGroup],
    /// The email keys ([`Email::key`]) of the accounts the remote has or this plan creates: a
    /// user member is inserted only if it is one of them. `None` when the remote's accounts
    /// are not read (no users are provisioned): every user member is inserted.
    pub accounts: Option<&'a BTreeSet<String>>,
    /// What the remote's groups keep: without member roles (SCIM) a member's role is never
    /// compared, so no [`RemoteOp::SetMemberRole`] is planned; without descriptions, a
    /// group's description is never compared.
    pub traits: GroupTraits,
}

/// The safeguards the group planner passes.
#[derive(Debug, Clone, Copy)]
pub struct GroupSafeguards<'a> {
    /// Groups deleted, against the groups this integration owns.
    pub groups: &'a Threshold,
    /// Members removed from one group, against its size.
    pub members: &'a Threshold,
}

/// How a desired group stands.
enum Standing<'a> {
    /// Ours (created, pending and present, or adopted) or being adopted now.
    Ours(&'a RemoteGroup, bool),
    /// Not in the remote: to create.
    Missing,
}

/// The id an operation names a remote group by: its id once it exists, else its email (Google
/// accepts either as `groupKey`).
fn key_of(email: &Email) -> Option<ExternalId> {
    ExternalId::new(email.as_str()).ok()
}

/// Plans the remote changes that make the remote hold each directory group the rule
/// provisions, with its members, in this order: groups created or updated, then members
/// inserted, re-roled and removed, then groups deleted.
///
/// - A directory group without a remote group of its email gets one ([`RemoteOp::CreateGroup`],
///   named by email in the member operations that follow).
/// - A remote group we own is updated when its name or description differ; its members are
///   made the directory group's: inserted (users only when the remote has or gets their
///   account; nested groups only when provisioned too), their roles set
///   ([`RemoteOp::SetMemberRole`]), and members the directory group lacks removed (never the
///   customer member); each group's removals pass the `members` safeguard against its size.
/// - A remote group with the email of a directory group and no record of ours is adopted (an
///   update, recorded once confirmed) when the rule is fully managed, else quarantined.
/// - A group we created that is no longer provisioned is deleted; the deletions pass the
///   `groups` safeguard against the groups we own. Adopted groups are never deleted.
pub fn plan_groups(state: GroupState<'_>, safeguards: GroupSafeguards<'_>) -> ProvisionPart {
    let GroupState {
        rule,
        desired,
        groups,
        members,
        owned,
        accounts,
        traits,
    } = state;
    let mut part = ProvisionPart::default();
    let by_email: HashMap<String, &RemoteGroup> =
        groups.iter().map(|g| (g.email.key(), g)).collect();
    let origin: HashMap<String, GroupOrigin> =
        owned.iter().map(|o| (o.email.key(), o.origin)).collect();
    let mut current: HashMap<&ExternalId, Vec<&RemoteMember>> = HashMap::new();
    for m in members {
        current.entry(&m.group).or_default().push(m);
    }
    let mut wanted: BTreeMap<String, &DesiredGroup> = BTreeMap::new();
    for group in desired {
        wanted.entry(group.fields.email.key()).or_insert(group);
    }
    // Which desired groups stand how; conflicts are quarantined and left out.
    let mut standing: BTreeMap<&str, (Standing<'_>, &DesiredGroup)> = BTreeMap::new();
    for (key, group) in &wanted {
        let entry = match (by_email.get(key), origin.get(key)) {
            (Some(remote), Some(_)) => Standing::Ours(remote, false),
            (Some(remote), None) if rule.fully_managed => Standing::Ours(remote, true),
            (Some(remote), None) => {
                part.quarantined.push(QuarantinedRecord {
                    kind: ObjectKind::Groups,
                    external_id: Some(remote.external_id.clone()),
                    label: remote.email.to_string(),
                    reason: "a group with this email exists and is not ours (the rule is not \
                             fully managed)"
                        .to_owned(),
                });
                continue;
            }
            (None, _) => Standing::Missing,
        };
        standing.insert(key.as_str(), (entry, group));
    }
    let (mut group_ops, mut member_ops) = (Vec::new(), Vec::new());
    let count = |part: &mut ProvisionPart, kind: OpKind| {
        *part.counts.entry(kind).or_default() += 1;
    };
    for (entry, group) in standing.values() {
        let fields = &group.fields;
        let (key, present): (Option<ExternalId>, &[&RemoteMember]) = match entry {
            Standing::Missing => {
                count(&mut part, OpKind::RemoteGroupsCreated);
                group_ops.push(RemoteOp::CreateGroup {
                    fields: fields.clone(),
                });
                (key_of(&fields.email), &[])
            }
            Standing::Ours(remote, adopting) => {
                if *adopting
                    || remote.name != fields.name
                    || (traits.descriptions && remote.description != fields.description)
                {
                    count(&mut part, OpKind::RemoteGroupsUpdated);
                    group_ops.push(RemoteOp::UpdateGroup {
                        group: remote.external_id.clone(),
                        fields: fields.clone(),
                    });
                }
                (
                    Some(remote.external_id.clone()),
                    current
                        .get(&remote.external_id)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                )
            }
        };
        let Some(key) = key else { continue };
        let roles: HashMap<String, MemberRole> = group
            .members
            .iter()
            .map(|m| (m.email.key(), m.role))
            .collect();
        let have: HashMap<String, MemberRole> = present
            .iter()
            .filter_map(|m| m.member.email.as_ref().map(|e| (e.key(), m.role)))
            .collect();
        let mut inserts: Vec<&DesiredMember> = group
            .members
            .iter()
            .filter(|m| m.email.key() != fields.email.key())
            .filter(|m| match m.kind {
                MemberKind::User => accounts.is_none_or(|a| a.contains(&m.email.key())),
                MemberKind::Group => standing.contains_key(m.email.key().as_str()),
                MemberKind::Customer => false,
            })
            .collect();
        inserts.sort_by_key(|m| m.email.key());
        inserts.dedup_by_key(|m| m.email.key());
        for m in inserts {
            match have.get(&m.email.key()) {
                None => {
                    count(&mut part, OpKind::RemoteMembersAdded);
                    member_ops.push(RemoteOp::InsertMember {
                        group: key.clone(),
                        member: m.email.clone(),
                        role: m.role,
                    });
                }
                Some(role) if traits.member_roles && *role != m.role => {
                    count(&mut part, OpKind::RemoteMemberRolesSet);
                    member_ops.push(RemoteOp::SetMemberRole {
                        group: key.clone(),
                        member: m.email.clone(),
                        role: m.role,
                    });
                }
                Some(_) => {}
            }
        }
        let mut removals: Vec<&Email> = present
            .iter()
            .filter(|m| m.member.kind != MemberKind::Customer)
            .filter_map(|m| m.member.email.as_ref())
            .filter(|e| !roles.contains_key(&e.key()))
            .collect();
        removals.sort_by_key(|e| e.key());
        let removing = removals.len() as u64;
        if safeguards.members.trips(removing, present.len() as u64) {
            part.trips.push(Trip {
                safeguard: format!("members of {}", fields.email),
                count: removing,
                total: present.len() as u64,
            });
        }
        for email in removals {
            count(&mut part, OpKind::RemoteMembersRemoved);
            member_ops.push(RemoteOp::DeleteMember {
                group: key.clone(),
                member: email.clone(),
            });
        }
    }
    // Groups we created (or whose insert was pending and landed) that are no longer wanted.
    let mut deletions: Vec<&RemoteGroup> = groups
        .iter()
        .filter(|g| !wanted.contains_key(&g.email.key()))
        .filter(|g| {
            matches!(
                origin.get(&g.email.key()),
                Some(GroupOrigin::Created | GroupOrigin::Pending)
            )
        })
        .collect();
    deletions.sort_by_key(|g| g.email.key());
    let ours = groups
        .iter()
        .filter(|g| origin.contains_key(&g.email.key()))
        .count() as u64;
    let deleting = deletions.len() as u64;
    if safeguards.groups.trips(deleting, ours) {
        part.trips.push(Trip {
            safeguard: "remote groups deleted".to_owned(),
            count: deleting,
            total: ours,
        });
    }
    let mut delete_ops = Vec::new();
    for g in deletions {
        count(&mut part, OpKind::RemoteGroupsDeleted);
        delete_ops.push(RemoteOp::DeleteGroup {
            group: g.external_id.clone(),
        });
    }
    part.ops.extend(group_ops);
    part.ops.extend(member_ops);
    part.ops.extend(delete_ops);
    part
}

#[cfg(test)]
mod tests;
