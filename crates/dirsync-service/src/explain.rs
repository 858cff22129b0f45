//! A plan in human terms: each operation with the email or path it concerns, resolved against
//! the store, for dry runs in frontends and command-line tools.

use std::collections::{HashMap, HashSet};

use dirsync_core::{DirectoryOp, ExternalId, LifecycleKind, ProfileChange, RemoteOp, UserId};
use dirsync_engine::{Plan, ToDirectory, ToRemote};
use serde::Serialize;

use crate::{DryRun, Error, Service};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// A person enters the directory (or is rehired).
    ProvisionUser,
    /// A person's profile changes.
    UpdateProfile,
    /// A person is suspended.
    SuspendUser,
    /// A suspended person is active again.
    ReactivateUser,
    /// A person leaves.
    DeprovisionUser,
    /// An account of the integration is linked or its record changes (e.g. marked missing).
    UpdateAccount,
    /// An account of the integration is removed.
    RemoveAccount,
    /// A group is created.
    CreateGroup,
    /// A group's name or description changes.
    UpdateGroup,
    /// A group is removed.
    RemoveGroup,
    /// A member is added to a group.
    AddMember,
    /// A member's role changes.
    ChangeMemberRole,
    /// A member is removed from a group.
    RemoveMember,
    /// A member is added to a managed remote group (outbound).
    AddRemoteMember,
    /// A member is removed from a managed remote group (outbound).
    RemoveRemoteMember,
    /// A member's role in a remote group is set (outbound).
    SetRemoteMemberRole,
    /// A remote account is created (outbound provisioning).
    CreateRemoteUser,
    /// A remote account is updated, or adopted (outbound provisioning).
    UpdateRemoteUser,
    /// A remote account is suspended (outbound provisioning).
    SuspendRemoteUser,
    /// A remote account is reactivated (outbound provisioning).
    ReactivateRemoteUser,
    /// A remote account is deleted (outbound provisioning).
    DeleteRemoteUser,
    /// A remote group is created (outbound provisioning).
    CreateRemoteGroup,
    /// A remote group is updated (outbound provisioning).
    UpdateRemoteGroup,
    /// A remote group is deleted (outbound provisioning).
    DeleteRemoteGroup,
    /// A remote org unit is created (outbound provisioning).
    CreateRemoteOrgUnit,
    /// An org unit is created or changed.
    UpsertOrgUnit,
    /// An org unit is removed.
    RemoveOrgUnit,
    /// An operation this version cannot name; the subject describes it.
    Other,
}

/// One planned operation, named for a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PlannedChange {
    /// What it does.
    pub action: Action,
    /// What it concerns: an email, a group address or an org-unit path.
    pub subject: String,
    /// More about it (the group a member joins, a role), possibly empty.
    pub detail: String,
}

impl std::fmt::Display for PlannedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = serde_json::to_value(self.action)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default();
        write!(f, "{action:<18} {}", self.subject)?;
        if !self.detail.is_empty() {
            write!(f, "  ({})", self.detail)?;
        }
        Ok(())
    }
}

impl Service {
    /// The plan's operations in human terms, in plan order. Names are resolved against the
    /// store as it is now (a plan made long ago may name objects that have since changed).
    ///
    /// # Errors
    /// A store error.
    pub async fn explain(&self, plan: &DryRun) -> Result<Vec<PlannedChange>, Error> {
        match plan {
            DryRun::Directory(plan) => self.explain_directory(plan).await,
            DryRun::Remote(plan) => Ok(explain_remote(plan)),
        }
    }

    async fn explain_directory(
        &self,
        plan: &Plan<ToDirectory>,
    ) -> Result<Vec<PlannedChange>, Error> {
        let view = self.store.view(plan.integration()).await?;
        let mut users: HashMap<UserId, String> = view
            .users
            .iter()
            .map(|u| (u.id, u.profile.primary_email.to_string()))
            .collect();
        let mut groups: HashMap<&ExternalId, String> = view
            .groups
            .iter()
            .map(|g| (&g.external_id, g.email.to_string()))
            .collect();
        let known_groups: HashSet<&ExternalId> = groups.keys().copied().collect();
        let accounts: HashMap<&ExternalId, String> = view
            .accounts
            .iter()
            .map(|a| (&a.external_id, a.email.to_string()))
            .collect();
        let memberships: HashMap<_, _> = view.memberships.iter().map(|m| (m.key(), m)).collect();
        let org_units: HashMap<&ExternalId, String> = view
            .org_units
            .iter()
            .map(|o| (&o.external_id, o.path.to_string()))
            .collect();
        // New groups and users first appear in the plan itself.
        for op in plan.changes().ops() {
            match op {
                DirectoryOp::UpsertGroup(g) => {
                    groups
                        .entry(&g.external_id)
                        .or_insert_with(|| g.email.to_string());
                }
                DirectoryOp::Profile(p) => {
                    if let ProfileChange::CreateUser { user, profile, .. } = p.change() {
                        users.insert(*user, profile.primary_email.to_string());
                    }
                }
                _ => {}
            }
        }
        let name = |map: &HashMap<&ExternalId, String>, id: &ExternalId| {
            map.get(id).cloned().unwrap_or_else(|| format!("id {id}"))
        };
        let user = |id: &UserId| users.get(id).cloned().unwrap_or_else(|| id.to_string());
        let change = |action, subject: String, detail: String| PlannedChange {
            action,
            subject,
            detail,
        };
        let explained = plan
            .changes()
            .ops()
            .iter()
            .map(|op| match op {
                DirectoryOp::Profile(p) => match p.change() {
                    ProfileChange::CreateUser { user: id, .. } => {
                        change(Action::ProvisionUser, user(id), String::new())
                    }
                    ProfileChange::UpdateProfile { user: id, .. } => {
                        change(Action::UpdateProfile, user(id), String::new())
                    }
                    ProfileChange::Lifecycle { user: id, event } => {
                        let action = match event.kind {
                            LifecycleKind::Provisioned => Action::ProvisionUser,
                            LifecycleKind::Suspended => Action::SuspendUser,
                            LifecycleKind::Reactivated => Action::ReactivateUser,
                            LifecycleKind::Deprovisioned => Action::DeprovisionUser,
                        };
                        change(action, user(id), String::new())
                    }
                    other => change(Action::Other, format!("{other:?}"), String::new()),
                },
                DirectoryOp::UpsertAccount(a) => {
                    let detail = if a.missing_since.is_some() {
                        format!("missing from the source for {} run(s)", a.missing_runs)
                    } else {
                        String::new()
                    };
                    change(Action::UpdateAccount, a.email.to_string(), detail)
                }
                DirectoryOp::RemoveAccount { external_id } => change(
                    Action::RemoveAccount,
                    name(&accounts, external_id),
                    String::new(),
                ),
                DirectoryOp::UpsertGroup(g) => {
                    let action = if known_groups.contains(&g.external_id) {
                        Action::UpdateGroup
                    } else {
                        Action::CreateGroup
                    };
                    change(action, g.email.to_string(), g.name.clone())
                }
                DirectoryOp::RemoveGroup { external_id } => change(
                    Action::RemoveGroup,
                    name(&groups, external_id),
                    String::new(),
                ),
                DirectoryOp::UpsertMembership(m) => {
                    let action = if memberships.contains_key(&m.key()) {
                        Action::ChangeMemberRole
                    } else {
                        Action::AddMember
                    };
                    let member = m
                        .member
                        .email
                        .as_ref()
                        .map_or_else(|| m.member.external_id.to_string(), ToString::to_string);
                    let detail = format!("{} of {}", m.role, name(&groups, &m.group));
                    change(action, member, detail)
                }
                DirectoryOp::RemoveMembership(key) => {
                    let member = memberships
                        .get(key)
                        .and_then(|m| m.member.email.as_ref())
                        .map_or_else(|| key.member.to_string(), ToString::to_string);
                    change(
                        Action::RemoveMember,
                        member,
                        format!("from {}", name(&groups, &key.group)),
                    )
                }
                DirectoryOp::UpsertOrgUnit(o) => {
                    change(Action::UpsertOrgUnit, o.path.to_string(), o.name.clone())
                }
                DirectoryOp::RemoveOrgUnit { external_id } => change(
                    Action::RemoveOrgUnit,
                    name(&org_units, external_id),
                    String::new(),
                ),
                other => change(Action::Other, format!("{other:?}"), String::new()),
            })
            .collect();
        Ok(explained)
    }
}

fn explain_remote(plan: &Plan<ToRemote>) -> Vec<PlannedChange> {
    let names = &plan.report().group_names;
    let accounts = &plan.report().account_names;
    let remote_account = |action: Action, id: &ExternalId| PlannedChange {
        action,
        subject: accounts
            .get(id)
            .map_or_else(|| format!("account {id}"), ToString::to_string),
        detail: format!("account {id}"),
    };
    let group = |id: &ExternalId| {
        names
            .get(id)
            .map_or_else(|| format!("group id {id}"), ToString::to_string)
    };
    plan.changes()
        .ops()
        .iter()
        .map(|op| match op {
            RemoteOp::InsertMember {
                group: g,
                member,
                role,
            } => PlannedChange {
                action: Action::AddRemoteMember,
                subject: member.to_string(),
                detail: format!("{role} of {}", group(g)),
            },
            RemoteOp::DeleteMember { group: g, member } => PlannedChange {
                action: Action::RemoveRemoteMember,
                subject: member.to_string(),
                detail: format!("from {}", group(g)),
            },
            RemoteOp::SetMemberRole {
                group: g,
                member,
                role,
            } => PlannedChange {
                action: Action::SetRemoteMemberRole,
                subject: member.to_string(),
                detail: format!("{role} of {}", group(g)),
            },
            RemoteOp::CreateUser { fields } => PlannedChange {
                action: Action::CreateRemoteUser,
                subject: fields.primary_email.to_string(),
                detail: fields
                    .org_unit
                    .as_ref()
                    .map(|o| format!("in {o}"))
                    .unwrap_or_default(),
            },
            RemoteOp::UpdateUser { user, fields } => PlannedChange {
                action: Action::UpdateRemoteUser,
                subject: fields.primary_email.to_string(),
                detail: match fields.marker.map(|m| m.origin) {
                    Some(dirsync_core::MarkerOrigin::Adopted) => format!("adopt account {user}"),
                    _ => format!("account {user}"),
                },
            },
            RemoteOp::SuspendUser { user } => remote_account(Action::SuspendRemoteUser, user),
            RemoteOp::ReactivateUser { user } => remote_account(Action::ReactivateRemoteUser, user),
            RemoteOp::DeleteUser { user } => remote_account(Action::DeleteRemoteUser, user),
            RemoteOp::CreateGroup { fields } => PlannedChange {
                action: Action::CreateRemoteGroup,
                subject: fields.email.to_string(),
                detail: fields.name.clone(),
            },
            RemoteOp::UpdateGroup { group: g, fields } => PlannedChange {
                action: Action::UpdateRemoteGroup,
                subject: fields.email.to_string(),
                detail: format!("group {g}"),
            },
            RemoteOp::DeleteGroup { group: g } => PlannedChange {
                action: Action::DeleteRemoteGroup,
                subject: group(g),
                detail: String::new(),
            },
            RemoteOp::CreateOrgUnit { fields } => PlannedChange {
                action: Action::CreateRemoteOrgUnit,
                subject: fields.path.to_string(),
                detail: String::new(),
            },
            other => PlannedChange {
                action: Action::Other,
                subject: other.to_string(),
                detail: String::new(),
            },
        })
        .collect()
}
