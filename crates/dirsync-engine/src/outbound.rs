//! The outbound planner: from the desired state (who the directory says should be in each
//! managed group) and the current state (a complete snapshot of those groups in the remote),
//! the members to insert and to remove. Pure: no IO, no clock.
//!
//! Removals touch only memberships the integration created (its ownership records), unless the
//! rule declares the group fully managed; members added by hand stay. Each group's removals
//! pass the [`remote_members`](crate::Safeguards::remote_members) safeguard.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AttributeMapping, Attributes, DirectoryAttributes, DirectoryUser, Email, ExternalId,
    GroupAssignment, GroupProvisioning, GroupTraits, Integration, MemberKind, ObjectKind, Outbound,
    OwnedGroup, OwnedMembership, OwnershipChange, Person, QuarantinedRecord, RemoteChanges,
    RemoteOp, Secondary, Selector, Snapshot, UserId, UserProvisioning, Version,
};
use dirsync_store::LocalView;

use crate::plan::{Counts, OpKind, Plan, PlanReport, ToRemote, Trip};
use crate::provision::groups::{DesiredGroup, GroupSafeguards, GroupState, plan_groups};
use crate::provision::{ProvisionPart, ProvisionState, plan_users};
use crate::{Error, Policy};

/// What outbound selectors can see of the directory: every user, the directory groups they
/// belong to (of the groups the rules name), the attributes of their accounts and their
/// directory attributes (settled by the policy's [`AttributeMapping`]).
#[derive(Debug, Clone, Default)]
pub struct DirectoryFacts {
    users: Vec<DirectoryUser>,
    groups: HashMap<UserId, BTreeSet<Email>>,
    attributes: HashMap<UserId, Vec<Attributes>>,
    directory_attributes: HashMap<UserId, DirectoryAttributes>,
}

impl DirectoryFacts {
    /// Gathers the facts from the store's views of the inbound integrations (each view carries
    /// the whole directory's users). Only the directory groups in `groups` are resolved, through
    /// nested groups, to the users in them; directory attributes are settled by `mapping`.
    pub fn from_views(
        views: &[LocalView],
        groups: &BTreeSet<Email>,
        mapping: &AttributeMapping,
    ) -> Self {
        let users = views.first().map(|v| v.users.clone()).unwrap_or_default();
        let mut facts = Self {
            users,
            ..Self::default()
        };
        if !mapping.is_empty() {
            let mut accounts: HashMap<UserId, Vec<&Account>> = HashMap::new();
            for account in views.iter().flat_map(|v| &v.accounts) {
                if let Some(link) = account.link {
                    accounts.entry(link.user).or_default().push(account);
                }
            }
            facts.directory_attributes = accounts
                .into_iter()
                .map(|(user, accounts)| (user, mapping.merge(accounts)))
                .filter(|(_, merged)| !merged.is_empty())
                .collect();
        }
        for view in views {
            let owner: HashMap<&ExternalId, UserId> = view
                .accounts
                .iter()
                .filter_map(|a| a.link.map(|l| (&a.external_id, l.user)))
                .collect();
            for account in &view.accounts {
                if let Some(link) = account.link
                    && !account.attributes.is_empty()
                {
                    facts
                        .attributes
                        .entry(link.user)
                        .or_default()
                        .push(account.attributes.clone());
                }
            }
            let mut children: HashMap<&ExternalId, Vec<(MemberKind, &ExternalId)>> = HashMap::new();
            for m in &view.memberships {
                children
                    .entry(&m.group)
                    .or_default()
                    .push((m.member.kind, &m.member.external_id));
            }
            for group in view.groups.iter().filter(|g| groups.contains(&g.email)) {
                // Every user under the group, through nested groups; cycles end at `seen`.
                let mut seen: HashSet<&ExternalId> = HashSet::from([&group.external_id]);
                let mut stack = vec![&group.external_id];
                while let Some(g) = stack.pop() {
                    for (kind, id) in children.get(g).map(Vec::as_slice).unwrap_or_default() {
                        match kind {
                            MemberKind::User => {
                                if let Some(user) = owner.get(id) {
                                    facts
                                        .groups
                                        .entry(*user)
                                        .or_default()
                                        .insert(group.email.clone());
                                }
                            }
                            MemberKind::Group => {
                                if seen.insert(id) {
                                    stack.push(id);
                                }
                            }
                            MemberKind::Customer => {}
                        }
                    }
                }
            }
        }
        facts
    }

    /// Facts of these directory users alone (no groups, no attributes): what a selector by
    /// org unit, status or employment type needs.
    pub fn from_users(users: Vec<DirectoryUser>) -> Self {
        Self {
            users,
            ..Self::default()
        }
    }

    /// Whether `assignment` selects `user` (its status filter, then its selector).
    fn assigns(&self, assignment: &GroupAssignment, user: &DirectoryUser) -> bool {
        (assignment.include_inactive || user.status == dirsync_core::UserStatus::Active)
            && self.matches(&assignment.select, user)
    }

    /// Whether `select` picks `user`, whatever their status.
    pub(crate) fn matches(&self, select: &Selector, user: &DirectoryUser) -> bool {
        let none = BTreeSet::new();
        let no_attributes = DirectoryAttributes::new();
        let person = Person {
            user,
            groups: self.groups.get(&user.id).unwrap_or(&none),
            attributes: self
                .attributes
                .get(&user.id)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            directory: self
                .directory_attributes
                .get(&user.id)
                .unwrap_or(&no_attributes),
        };
        select.matches(&person)
    }

    /// Every directory user.
    pub(crate) fn users(&self) -> &[DirectoryUser] {
        &self.users
    }

    /// The users `assignment` selects, by email key, with their primary email.
    fn selected(&self, assignment: &GroupAssignment) -> BTreeMap<String, Email> {
        self.users
            .iter()
            .filter(|user| self.assigns(assignment, user))
            .map(|u| {
                (
                    u.profile.primary_email.key(),
                    u.profile.primary_email.clone(),
                )
            })
            .collect()
    }
}

/// The current state an outbound plan starts from.
#[derive(Debug, Clone, Copy)]
pub struct OutboundState<'a> {
    /// A complete snapshot of the managed groups and their members in the remote.
    pub snapshot: &'a Snapshot,
    /// The directory the rules select from.
    pub directory: &'a DirectoryFacts,
    /// The memberships this integration created (its ownership records).
    pub owned: &'a [OwnedMembership],
    /// The version of the ownership records (what the plan is based on).
    pub base: Version,
    /// The rule provisioning users, if any: then the snapshot also holds the remote's users
    /// and org units.
    pub provisioning: Option<&'a UserProvisioning>,
    /// The rule provisioning groups, if any: then the snapshot also holds every remote group
    /// and their members.
    pub groups: Option<GroupInputs<'a>>,
}

/// What a group provisioning rule plans from, besides the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct GroupInputs<'a> {
    /// The rule.
    pub rule: &'a GroupProvisioning,
    /// The directory groups it provisions ([`crate::desired_groups`]).
    pub desired: &'a [DesiredGroup],
    /// The integration's group ownership records.
    pub owned: &'a [OwnedGroup],
    /// What the target's groups keep ([`GroupState::traits`]).
    pub traits: GroupTraits,
}

/// Plans the remote changes that make each assigned group hold the members its rule selects,
/// after the org units and accounts a provisioning rule needs ([`plan_users`]) and the groups
/// and memberships a group provisioning rule needs ([`plan_groups`]): org units, then users,
/// then groups, then memberships (then group deletions).
///
/// - A member the rule selects and the group lacks is inserted, with the rule's role.
/// - A user member the rule does not select is removed if this integration created it
///   (`owned`), or if the rule declares the group fully managed; otherwise it stays. Nested
///   groups and the customer member are never removed.
/// - With the rule's `keep_roles`, a selected member whose role differs from the rule's gets
///   the rule's role (`members.patch`) if this integration created the membership or the
///   group is fully managed; a hand-added member keeps the role it was given.
/// - A managed group missing from the snapshot is reported (quarantined) and left alone.
/// - Each group's removals pass the `remote_members` safeguard against its current size.
///
/// # Errors
/// [`Error::Scope`] when the snapshot does not cover groups and memberships (or, with a
/// provisioning rule, users; a snapshot without org units is of a remote that has none);
/// [`Error::EmptyDirectory`] when the directory has no users but removals or suspensions were
/// planned.
pub fn plan_outbound(
    integration: &Integration<Outbound, Secondary>,
    assignments: &[&GroupAssignment],
    state: OutboundState<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToRemote>, Error> {
    let OutboundState {
        snapshot,
        directory,
        owned,
        base,
        provisioning,
        groups,
    } = state;
    let mut needed = Vec::new();
    if !assignments.is_empty() {
        needed.extend([ObjectKind::Groups, ObjectKind::Memberships]);
    }
    if provisioning.is_some() {
        // A snapshot without org units is of a remote without them (see `ProvisionState`).
        needed.push(ObjectKind::Users);
    }
    if groups.is_some() {
        needed.extend([ObjectKind::Groups, ObjectKind::Memberships]);
    }
    for kind in needed {
        if !snapshot.kinds().contains(kind) {
            return Err(Error::Scope {
                what: format!("{kind} (an outbound plan needs what its rules manage)"),
            });
        }
    }
    let owned: HashSet<(&ExternalId, String)> =
        owned.iter().map(|o| (&o.group, o.member.key())).collect();
    let mut current: HashMap<&ExternalId, Vec<&dirsync_core::RemoteMember>> = HashMap::new();
    for m in snapshot.members() {
        current.entry(&m.group).or_default().push(m);
    }
    let mut changes = RemoteChanges::new(integration, base);
    let mut counts = Counts::new();
    let mut report = PlanReport::default();
    let mut trips = Vec::new();
    if let Some(rule) = provisioning {
        let threshold = &policy.safeguards_for(integration.record()).users;
        let mut part = plan_users(
            ProvisionState {
                integration: integration.id(),
                rule,
                directory,
                accounts: snapshot.users(),
                org_units: snapshot
                    .kinds()
                    .contains(ObjectKind::OrgUnits)
                    .then(|| snapshot.org_units()),
            },
            threshold,
            now,
        );
        let emails: HashMap<&ExternalId, &Email> = snapshot
            .users()
            .iter()
            .map(|u| (&u.external_id, &u.primary_email))
            .collect();
        for op in std::mem::take(&mut part.ops) {
            if let RemoteOp::UpdateUser { user, .. }
            | RemoteOp::SuspendUser { user }
            | RemoteOp::ReactivateUser { user }
            | RemoteOp::DeleteUser { user } = &op
                && let Some(email) = emails.get(user)
            {
                report.account_names.insert(user.clone(), (*email).clone());
            }
            changes.push(op);
        }
        absorb(&mut counts, &mut report, &mut trips, part);
    }
    if let Some(inputs) = groups {
        // With users provisioned, user members are those with an account of ours (marked, or
        // created or adopted by this plan): never a stranger's account with a directory
        // user's email.
        let accounts: Option<BTreeSet<String>> = provisioning.map(|_| {
            let created = changes.ops().iter().filter_map(|op| match op {
                RemoteOp::CreateUser { fields } | RemoteOp::UpdateUser { fields, .. } => {
                    Some(fields.primary_email.key())
                }
                _ => None,
            });
            snapshot
                .users()
                .iter()
                .filter(|u| u.marker.is_some_and(|m| m.integration == integration.id()))
                .map(|u| u.primary_email.key())
                .chain(created)
                .collect()
        });
        let safeguards = policy.safeguards_for(integration.record());
        let mut part = plan_groups(
            GroupState {
                rule: inputs.rule,
                desired: inputs.desired,
                groups: snapshot.groups(),
                members: snapshot.members(),
                owned: inputs.owned,
                accounts: accounts.as_ref(),
                traits: inputs.traits,
            },
            GroupSafeguards {
                groups: &safeguards.groups,
                members: &safeguards.remote_members,
            },
        );
        for g in snapshot.groups() {
            report
                .group_names
                .insert(g.external_id.clone(), g.email.clone());
        }
        for op in std::mem::take(&mut part.ops) {
            // A group to create is named by its email until it exists.
            if let RemoteOp::CreateGroup { fields } = &op
                && let Ok(key) = ExternalId::new(fields.email.as_str())
            {
                report.group_names.insert(key, fields.email.clone());
            }
            changes.push(op);
        }
        absorb(&mut counts, &mut report, &mut trips, part);
    }
    for assignment in assignments {
        let Some(group) = snapshot
            .groups()
            .iter()
            .find(|g| g.email == assignment.group)
        else {
            report.quarantined.push(QuarantinedRecord {
                kind: ObjectKind::Groups,
                external_id: None,
                label: assignment.group.to_string(),
                reason: "the managed group does not exist in the remote (or is out of reach)"
                    .to_owned(),
            });
            continue;
        };
        report
            .group_names
            .insert(group.external_id.clone(), group.email.clone());
        let members = current
            .get(&group.external_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let present: HashSet<String> = members
            .iter()
            .filter_map(|m| m.member.email.as_ref().map(Email::key))
            .collect();
        let wanted = directory.selected(assignment);
        // A member we own (or of a fully managed group) whose role drifted gets it back.
        for m in members.iter().filter(|m| m.member.kind == MemberKind::User) {
            let Some(email) = m.member.email.as_ref() else {
                continue;
            };
            let ours =
                assignment.fully_managed || owned.contains(&(&group.external_id, email.key()));
            if assignment.keep_roles
                && ours
                && m.role != assignment.role
                && wanted.contains_key(&email.key())
            {
                changes.push(RemoteOp::SetMemberRole {
                    group: group.external_id.clone(),
                    member: email.clone(),
                    role: assignment.role,
                });
                *counts.entry(OpKind::RemoteMemberRolesSet).or_default() += 1;
            }
        }
        for (key, email) in &wanted {
            if !present.contains(key) {
                changes.push(RemoteOp::InsertMember {
                    group: group.external_id.clone(),
                    member: email.clone(),
                    role: assignment.role,
                });
                *counts.entry(OpKind::RemoteMembersAdded).or_default() += 1;
            }
        }
        let mut removals: Vec<&Email> = members
            .iter()
            .filter(|m| m.member.kind == MemberKind::User)
            .filter_map(|m| m.member.email.as_ref())
            .filter(|email| !wanted.contains_key(&email.key()))
            .filter(|email| {
                assignment.fully_managed || owned.contains(&(&group.external_id, email.key()))
            })
            .collect();
        removals.sort_by_key(|e| e.key());
        let threshold = policy.safeguards_for(integration.record()).remote_members;
        let removing = removals.len() as u64;
        if threshold.trips(removing, members.len() as u64) {
            trips.push(Trip {
                safeguard: format!("members of {}", group.email),
                count: removing,
                total: members.len() as u64,
            });
        }
        for email in removals {
            changes.push(RemoteOp::DeleteMember {
                group: group.external_id.clone(),
                member: email.clone(),
            });
            *counts.entry(OpKind::RemoteMembersRemoved).or_default() += 1;
        }
    }
    let removals: u64 = [
        OpKind::RemoteMembersRemoved,
        OpKind::RemoteUsersSuspended,
        OpKind::RemoteUsersDeleted,
        OpKind::RemoteGroupsDeleted,
    ]
    .iter()
    .filter_map(|k| counts.get(k))
    .sum();
    if directory.users.is_empty() && removals > 0 {
        return Err(Error::EmptyDirectory {
            integration: integration.id(),
            removals,
        });
    }
    Ok(Plan::new(
        integration.id(),
        base,
        now,
        changes,
        counts,
        report,
        trips,
    ))
}

/// Adds a provisioning part's counts, report and trips (not its operations) to the plan's.
fn absorb(
    counts: &mut Counts,
    report: &mut PlanReport,
    trips: &mut Vec<Trip>,
    part: ProvisionPart,
) {
    for (kind, n) in part.counts {
        *counts.entry(kind).or_default() += n;
    }
    report.quarantined.extend(part.quarantined);
    report.protected.extend(part.protected);
    trips.extend(part.trips);
}

/// The group ownership records a fresh snapshot settles, given the groups `ops` creates:
/// a pending insert whose group is there now is confirmed (created: its answer was lost, or
/// its run killed); a record whose group is gone, and is not being created again, is
/// forgotten.
pub fn settled_group_ownership(
    owned: &[OwnedGroup],
    snapshot: &Snapshot,
    ops: &[RemoteOp],
    now: DateTime<Utc>,
) -> Vec<OwnershipChange> {
    let present: HashSet<String> = snapshot.groups().iter().map(|g| g.email.key()).collect();
    let creating: HashSet<String> = ops
        .iter()
        .filter_map(|op| match op {
            RemoteOp::CreateGroup { fields } => Some(fields.email.key()),
            _ => None,
        })
        .collect();
    owned
        .iter()
        .filter_map(|o| {
            let key = o.email.key();
            if present.contains(&key) {
                (o.origin == dirsync_core::GroupOrigin::Pending).then(|| {
                    OwnershipChange::ClaimGroup(OwnedGroup {
                        origin: dirsync_core::GroupOrigin::Created,
                        recorded_at: now,
                        ..o.clone()
                    })
                })
            } else if creating.contains(&key) {
                None
            } else {
                Some(OwnershipChange::ReleaseGroup {
                    email: o.email.clone(),
                })
            }
        })
        .collect()
}

/// The ownership records that no longer match the remote: members this integration created in
/// one of `groups` that the snapshot no longer shows (removed by someone else). Forgetting them
/// keeps a later re-add by hand from being mistaken for ours.
pub fn stale_ownership(
    owned: &[OwnedMembership],
    snapshot: &Snapshot,
    groups: &BTreeSet<&ExternalId>,
) -> Vec<OwnershipChange> {
    let present: HashSet<(&ExternalId, String)> = snapshot
        .members()
        .iter()
        .filter_map(|m| m.member.email.as_ref().map(|e| (&m.group, e.key())))
        .collect();
    owned
        .iter()
        .filter(|o| groups.contains(&o.group))
        .filter(|o| !present.contains(&(&o.group, o.member.key())))
        .map(|o| OwnershipChange::Release {
            group: o.group.clone(),
            member: o.member.clone(),
        })
        .collect()
}
