//! The inbound planner: pure, deterministic, linear in the size of the tenant.
//!
//! Everything is decided from the snapshot, the store's view, the policy and the instant passed
//! in. Users and accounts are joined by hash on remote ids and emails, memberships by a merge
//! join of the snapshot's and the view's lists (both sorted by key; checked, and sorted if a
//! backend broke that promise). Profiles and accounts are compared with the snapshot in place,
//! so only what is written gets copied. Output order follows the snapshot's and the view's, so
//! the same inputs give the same plan.

mod accounts;
mod graph;
mod groups;
mod org_units;
mod secondary;
mod users;

use foldhash::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AnyIntegration, DirectoryChanges, DirectoryUser, Email, ExternalId, Inbound,
    Integration, IntegrationId, ObjectKind, Primary, QuarantinedRecord, Role, Secondary, Snapshot,
    UserId,
};
use dirsync_store::LocalView;

use crate::plan::{Counts, OpKind, Plan, PlanReport, ToDirectory, Trip};
use crate::{Error, Policy, Safeguards};

/// Plans an inbound integration of either role; outbound integrations are refused.
///
/// # Errors
/// See [`plan_primary`]; [`Error::WrongDirection`] for an outbound integration.
pub fn plan_inbound(
    integration: &AnyIntegration,
    snapshot: &Snapshot,
    view: &LocalView,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToDirectory>, Error> {
    match integration {
        AnyIntegration::Primary(p) => plan_primary(p, snapshot, view, policy, now),
        AnyIntegration::Inbound(s) => plan_secondary(s, snapshot, view, policy, now),
        AnyIntegration::Outbound(o) => Err(Error::WrongDirection {
            integration: o.id(),
        }),
    }
}

/// Plans the primary integration: accounts, the unified profiles and lifecycles, groups,
/// memberships and org units.
///
/// # Errors
/// [`Error::EmptySnapshot`] when the snapshot is empty but the store holds data in its scope;
/// [`Error::Scope`] when the view is of another integration.
pub fn plan_primary(
    primary: &Integration<Inbound, Primary>,
    snapshot: &Snapshot,
    view: &LocalView,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToDirectory>, Error> {
    let mut planner = Planner::new(primary, snapshot, view, policy, now)?;
    planner.org_units();
    let authority = primary.profile_authority();
    planner.users_beside_groups(primary, |users| {
        if snapshot.kinds().contains(ObjectKind::Users) {
            users.primary_users(&authority);
        }
    });
    planner.finish()
}

/// Plans a secondary inbound integration: it links accounts (by remote id, else by exact
/// email to an existing directory user) and keeps their per-vendor attributes, and keeps its
/// own groups, memberships and org units. It cannot write profiles or lifecycles: it has no
/// [`ProfileAuthority`](dirsync_core::ProfileAuthority).
///
/// # Errors
/// As [`plan_primary`].
pub fn plan_secondary(
    secondary: &Integration<Inbound, Secondary>,
    snapshot: &Snapshot,
    view: &LocalView,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToDirectory>, Error> {
    let mut planner = Planner::new(secondary, snapshot, view, policy, now)?;
    planner.org_units();
    planner.users_beside_groups(secondary, |users| {
        if snapshot.kinds().contains(ObjectKind::Users) {
            users.secondary_accounts();
        }
    });
    planner.finish()
}

struct Planner<'a> {
    id: IntegrationId,
    snapshot: &'a Snapshot,
    view: &'a LocalView,
    policy: &'a Policy,
    /// The integration's own thresholds, or the policy's.
    safeguards: Safeguards,
    now: DateTime<Utc>,
    changes: DirectoryChanges,
    counts: Counts,
    report: PlanReport,
    /// Remote ids that count as present although not usable (quarantined).
    present: HashSet<ExternalId>,
    users_removed: u64,
    groups_removed: u64,
    memberships_removed: u64,
}

/// Hash indexes over the view and the snapshot.
struct Lookups<'a> {
    /// Directory users by id.
    users: HashMap<UserId, &'a DirectoryUser>,
    /// Directory users by email key.
    by_email: HashMap<&'a Email, UserId>,
    /// This integration's stored accounts by remote id.
    accounts: HashMap<&'a ExternalId, &'a Account>,
    /// Remote ids the source reports deleted.
    deleted: HashSet<&'a ExternalId>,
}

impl<'a> Planner<'a> {
    fn new<R: Role<Inbound>>(
        integration: &Integration<Inbound, R>,
        snapshot: &'a Snapshot,
        view: &'a LocalView,
        policy: &'a Policy,
        now: DateTime<Utc>,
    ) -> Result<Self, Error> {
        let id = integration.id();
        if view.integration != id {
            return Err(Error::Scope {
                what: format!("the view is of integration {}, not {id}", view.integration),
            });
        }
        let kinds = snapshot.kinds();
        let held = [
            (ObjectKind::Users, view.accounts.len()),
            (ObjectKind::Groups, view.groups.len()),
            (ObjectKind::Memberships, view.memberships.len()),
            (ObjectKind::OrgUnits, view.org_units.len()),
        ]
        .iter()
        .filter(|(k, _)| kinds.contains(*k))
        .map(|(_, n)| n)
        .sum::<usize>();
        let fetched = snapshot.users().len()
            + snapshot.deleted_users().len()
            + snapshot.groups().len()
            + snapshot.members().len()
            + snapshot.org_units().len()
            + snapshot.quarantined().len();
        if fetched == 0 && held > 0 {
            return Err(Error::EmptySnapshot {
                integration: id,
                held,
            });
        }
        Ok(Self {
            id,
            snapshot,
            view,
            policy,
            safeguards: *policy.safeguards_for(integration.record()),
            now,
            changes: DirectoryChanges::new(integration, view.version),
            counts: Counts::new(),
            report: PlanReport {
                quarantined: snapshot.quarantined().to_vec(),
                ..PlanReport::default()
            },
            present: snapshot.quarantined_ids().into_iter().cloned().collect(),
            users_removed: 0,
            groups_removed: 0,
            memberships_removed: 0,
        })
    }

    /// Runs `users` (the users' step) here while the groups and memberships are planned on a
    /// thread of their own, then appends what that thread planned: the same plan as one step
    /// after the other, in the same order. The two steps read the same inputs and write apart;
    /// the groups' step sees what the steps before both quarantined. Without a thread to
    /// spare, the groups are planned here after the users.
    fn users_beside_groups<R: Role<Inbound>>(
        &mut self,
        integration: &Integration<Inbound, R>,
        users: impl FnOnce(&mut Self),
    ) {
        let mut groups = self.beside(integration);
        let planned = std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name("dirsync-plan-groups".to_owned())
                .spawn_scoped(scope, move || {
                    groups.groups_and_memberships();
                    groups
                });
            users(self);
            thread.map(|t| t.join())
        });
        match planned {
            Ok(Ok(groups)) => self.absorb(groups),
            // A panic there is a bug: it goes on here, as it would have on one thread.
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => self.groups_and_memberships(),
        }
    }

    /// A planner over the same inputs with nothing planned yet (what the steps so far
    /// quarantined still counts as present).
    fn beside<R: Role<Inbound>>(&self, integration: &Integration<Inbound, R>) -> Self {
        Self {
            id: self.id,
            snapshot: self.snapshot,
            view: self.view,
            policy: self.policy,
            safeguards: self.safeguards,
            now: self.now,
            changes: DirectoryChanges::new(integration, self.view.version),
            counts: Counts::new(),
            report: PlanReport::default(),
            present: self.present.clone(),
            users_removed: 0,
            groups_removed: 0,
            memberships_removed: 0,
        }
    }

    /// Appends what `other` (a [`beside`](Self::beside) planner) planned.
    fn absorb(&mut self, other: Self) {
        self.changes.extend(other.changes.into_ops());
        for (kind, n) in other.counts {
            *self.counts.entry(kind).or_default() += n;
        }
        let (report, theirs) = (&mut self.report, other.report);
        report.quarantined.extend(theirs.quarantined);
        report
            .unresolved_managers
            .extend(theirs.unresolved_managers);
        report.manager_cycles.extend(theirs.manager_cycles);
        report.protected.extend(theirs.protected);
        report.in_grace.extend(theirs.in_grace);
        report.group_names.extend(theirs.group_names);
        report.account_names.extend(theirs.account_names);
        self.users_removed += other.users_removed;
        self.groups_removed += other.groups_removed;
        self.memberships_removed += other.memberships_removed;
    }

    /// The lookups both account planners join on.
    fn lookups(&self) -> Lookups<'a> {
        let view = self.view;
        Lookups {
            users: view.users.iter().map(|u| (u.id, u)).collect(),
            by_email: view
                .users
                .iter()
                .map(|u| (&u.profile.primary_email, u.id))
                .collect(),
            accounts: view.accounts.iter().map(|a| (&a.external_id, a)).collect(),
            deleted: self
                .snapshot
                .deleted_users()
                .iter()
                .map(|d| &d.external_id)
                .collect(),
        }
    }

    fn count(&mut self, kind: OpKind) {
        *self.counts.entry(kind).or_default() += 1;
    }

    fn quarantine(&mut self, kind: ObjectKind, id: &ExternalId, label: &str, reason: String) {
        self.present.insert(id.clone());
        self.report.quarantined.push(QuarantinedRecord {
            kind,
            external_id: Some(id.clone()),
            label: label.to_owned(),
            reason,
        });
    }

    fn finish(mut self) -> Result<Plan<ToDirectory>, Error> {
        let s = &self.safeguards;
        let view = self.view;
        let checks = [
            ("users", &s.users, self.users_removed, view.accounts.len()),
            ("groups", &s.groups, self.groups_removed, view.groups.len()),
            (
                "memberships",
                &s.memberships,
                self.memberships_removed,
                view.memberships.len(),
            ),
        ];
        let trips: Vec<Trip> = checks
            .iter()
            .filter(|(_, t, count, total)| t.trips(*count, *total as u64))
            .map(|(name, _, count, total)| Trip {
                safeguard: (*name).to_owned(),
                count: *count,
                total: *total as u64,
            })
            .collect();
        self.counts.retain(|_, n| *n > 0);
        Ok(Plan::new(
            self.id,
            view.version,
            self.now,
            self.changes,
            self.counts,
            self.report,
            trips,
        ))
    }
}
