//! Pushed changes: one object at a time instead of a snapshot (a SCIM write; later a Google
//! push notification), planned through the same rules as a snapshot run.
//!
//! A [`Push`] is planned by [`plan_push`] as a snapshot *of that one object's scope*: the
//! planner sees the one object (or its deletion, which the source reports itself) and a view
//! narrowed to what the store holds of that object, so nothing outside it can look missing.
//! Profile and lifecycle changes come only from the primary ([`plan_primary`]); a secondary's
//! push links and enriches ([`plan_secondary`]). A deletion is the source's own word and needs
//! no grace; the per-plan safeguards are replaced by the sliding [`PushWindow`], which counts
//! users suspended or deprovisioned by pushes over the last minutes ([`window_trip`]).

use chrono::{DateTime, Duration, Utc};
use dirsync_core::{
    AnyIntegration, DeletedUser, DirectoryOp, ExternalId, MemberKind, MembershipKey, ObjectKind,
    ObjectKinds, RemoteGroup, RemoteMember, RemoteUser, RunOutcome, ScopeFilter, SnapshotBuilder,
    SyncRun,
};
use dirsync_store::LocalView;
use serde::{Deserialize, Serialize};

use crate::plan::{OpKind, Plan, ToDirectory, Trip};
use crate::{Error, Policy, plan_inbound};

/// The count key that marks a run record as a push's (`"pushes": 1`).
pub const PUSH_COUNT: &str = "pushes";

/// One change a source pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Push {
    /// A user as the source now has it (created or changed; `suspended` for `active=false`).
    User(RemoteUser),
    /// The source deleted this user.
    UserDeleted(ExternalId),
    /// A group as the source now has it, with all its members.
    Group {
        /// The group.
        group: RemoteGroup,
        /// Its members, all of them.
        members: Vec<RemoteMember>,
    },
    /// The source deleted this group.
    GroupDeleted(ExternalId),
}

impl Push {
    /// The remote id of the object it concerns.
    pub fn external_id(&self) -> &ExternalId {
        match self {
            Self::User(u) => &u.external_id,
            Self::Group { group, .. } => &group.external_id,
            Self::UserDeleted(id) | Self::GroupDeleted(id) => id,
        }
    }
}

/// The users safeguard for pushes: more than `max_removals` users suspended or deprovisioned by
/// pushes within `minutes` holds the next removal for approval (answered to the source as
/// "retry later"). A run that is not a push (a full sync, an approval) starts a new window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushWindow {
    /// Removals allowed within the window.
    pub max_removals: u64,
    /// The window's length in minutes.
    pub minutes: u32,
}

impl PushWindow {
    /// At most `max_removals` within `minutes`.
    pub fn new(max_removals: u64, minutes: u32) -> Self {
        Self {
            max_removals,
            minutes,
        }
    }
}

impl Default for PushWindow {
    fn default() -> Self {
        Self::new(50, 10)
    }
}

/// Plans one pushed change for an inbound integration of either role (the primary writes
/// profiles and lifecycles; a secondary links accounts and keeps attributes), against `view`
/// (the store's view of the whole integration; narrowed here). The plan carries no trips: the
/// push window decides holds ([`window_trip`]).
///
/// # Errors
/// [`Error::WrongDirection`] for an outbound integration; [`Error::Scope`] when the view is
/// of another integration; [`Error::Taken`] when `Push::User` claims an email another live
/// account of this integration holds.
pub fn plan_push(
    integration: &AnyIntegration,
    push: &Push,
    view: &LocalView,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToDirectory>, Error> {
    if view.integration != integration.id() {
        return Err(Error::Scope {
            what: format!("the view is of integration {}", view.integration),
        });
    }
    let id = push.external_id();
    let narrowed = narrow(view, push);
    let snapshot = match push {
        Push::User(user) => {
            let taken = view.accounts.iter().any(|a| {
                a.external_id != user.external_id
                    && a.missing_since.is_none()
                    && a.email == user.primary_email
            });
            if taken {
                return Err(Error::Taken {
                    what: format!(
                        "{} is the email of another account of this integration",
                        user.primary_email
                    ),
                });
            }
            let mut b = SnapshotBuilder::new(
                ObjectKinds::only(ObjectKind::Users),
                ScopeFilter::everything(),
                now,
            );
            b.users_page(vec![user.clone()], None)?;
            b.finish()?
        }
        Push::UserDeleted(_) => {
            let mut b = SnapshotBuilder::new(
                ObjectKinds::only(ObjectKind::Users),
                ScopeFilter::everything(),
                now,
            );
            b.users_page(Vec::new(), None)?;
            b.deleted_users_page(
                vec![DeletedUser {
                    external_id: id.clone(),
                    primary_email: None,
                    deleted_at: Some(now),
                }],
                None,
            )?;
            b.finish()?
        }
        Push::Group { group, members } => {
            let mut b = SnapshotBuilder::new(
                ObjectKinds::new([ObjectKind::Groups, ObjectKind::Memberships])?,
                ScopeFilter::everything(),
                now,
            );
            let mut group = group.clone();
            group.direct_members_count = Some(members.len() as u64);
            b.groups_page(vec![group], None)?;
            if !members.is_empty() {
                b.members_page(id, members.clone(), None)?;
            }
            b.finish()?
        }
        Push::GroupDeleted(_) => return group_deleted(integration, id, &narrowed, now),
    };
    let plan = plan_inbound(integration, &snapshot, &narrowed, policy, now)?;
    let (mut changes, mut counts, report) = plan.into_parts();
    if let Push::UserDeleted(user) = push {
        // A deleted user leaves the groups of this integration.
        for m in view
            .memberships
            .iter()
            .filter(|m| m.member.kind == MemberKind::User && &m.member.external_id == user)
        {
            changes.push(DirectoryOp::RemoveMembership(m.key()));
            *counts.entry(OpKind::MembershipsRemoved).or_default() += 1;
        }
    }
    Ok(Plan::new(
        integration.id(),
        view.version,
        now,
        changes,
        counts,
        report,
        Vec::new(),
    ))
}

/// What the store holds of the pushed object only (and every directory user, for matching).
fn narrow(view: &LocalView, push: &Push) -> LocalView {
    let id = push.external_id();
    let (accounts, groups, memberships) = match push {
        Push::User(_) | Push::UserDeleted(_) => (
            view.accounts
                .iter()
                .filter(|a| &a.external_id == id)
                .cloned()
                .collect(),
            Vec::new(),
            Vec::new(),
        ),
        Push::Group { .. } | Push::GroupDeleted(_) => (
            Vec::new(),
            view.groups
                .iter()
                .filter(|g| &g.external_id == id)
                .cloned()
                .collect(),
            view.memberships
                .iter()
                .filter(|m| &m.group == id)
                .cloned()
                .collect(),
        ),
    };
    LocalView {
        integration: view.integration,
        version: view.version,
        accounts,
        groups,
        memberships,
        org_units: Vec::new(),
        users: view.users.clone(),
    }
}

/// A group the source deleted: the group and its memberships go (the store cascades them).
fn group_deleted(
    integration: &AnyIntegration,
    id: &ExternalId,
    narrowed: &LocalView,
    now: DateTime<Utc>,
) -> Result<Plan<ToDirectory>, Error> {
    let mut changes = match integration {
        AnyIntegration::Primary(p) => dirsync_core::DirectoryChanges::new(p, narrowed.version),
        AnyIntegration::Inbound(s) => dirsync_core::DirectoryChanges::new(s, narrowed.version),
        AnyIntegration::Outbound(o) => {
            return Err(Error::WrongDirection {
                integration: o.id(),
            });
        }
    };
    let mut counts = crate::Counts::new();
    if !narrowed.groups.is_empty() {
        for m in &narrowed.memberships {
            changes.push(DirectoryOp::RemoveMembership(MembershipKey {
                group: m.group.clone(),
                kind: m.member.kind,
                member: m.member.external_id.clone(),
            }));
            *counts.entry(OpKind::MembershipsRemoved).or_default() += 1;
        }
        changes.push(DirectoryOp::RemoveGroup {
            external_id: id.clone(),
        });
        counts.insert(OpKind::GroupsRemoved, 1);
    }
    Ok(Plan::new(
        integration.id(),
        narrowed.version,
        now,
        changes,
        counts,
        crate::PlanReport::default(),
        Vec::new(),
    ))
}

/// Users a plan takes away (suspended or deprovisioned): what the push window counts.
pub fn removals(plan: &Plan<ToDirectory>) -> u64 {
    let c = plan.counts();
    c.get(&OpKind::UsersSuspended).copied().unwrap_or(0)
        + c.get(&OpKind::UsersDeprovisioned).copied().unwrap_or(0)
}

/// Whether applying `plan` now would take more users away within the window than it allows,
/// given the integration's recent runs (newest first). Counts the removals of push runs that
/// started within the window, back to the newest run that is not a push (an approval or a full
/// sync starts a new window).
pub fn window_trip(
    window: &PushWindow,
    recent: &[SyncRun],
    plan: &Plan<ToDirectory>,
    now: DateTime<Utc>,
) -> Option<Trip> {
    let adding = removals(plan);
    if adding == 0 {
        return None;
    }
    let since = now - Duration::minutes(i64::from(window.minutes));
    let counted: u64 = recent
        .iter()
        .take_while(|r| r.counts.contains_key(PUSH_COUNT) && r.started_at >= since)
        .filter(|r| matches!(r.outcome, RunOutcome::Succeeded))
        .map(|r| {
            r.counts.get("users_suspended").copied().unwrap_or(0)
                + r.counts.get("users_deprovisioned").copied().unwrap_or(0)
        })
        .sum();
    let total = counted + adding;
    (total > window.max_removals).then(|| Trip {
        safeguard: format!("users pushed away within {} minutes", window.minutes),
        count: total,
        total: window.max_removals,
    })
}
