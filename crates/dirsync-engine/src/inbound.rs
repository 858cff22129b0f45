//! The inbound planner: pure, deterministic, linear in the size of the tenant.
//!
//! Everything is decided from the snapshot, the store's view, the policy and the instant passed
//! in. Users and accounts are joined by hash on remote ids and emails, memberships by a merge
//! join of the snapshot's and the view's lists (both sorted by key; checked, and sorted if a
//! backend broke that promise). Profiles and accounts are compared with the snapshot in place,
//! so only what is written gets copied. Output order follows the snapshot's and the view's, so
//! the same inputs give the same plan.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AccountLink, AnyIntegration, DirectoryChanges, DirectoryOp, DirectoryUser, Email,
    ExternalId, Group, GroupId, Inbound, Integration, IntegrationId, LifecycleEvent, LifecycleKind,
    LinkedBy, Manager, MemberKind, Membership, ObjectKind, OrgUnit, Primary, ProfileAuthority,
    QuarantinedRecord, RemoteMember, RemoteUser, Role, Secondary, Snapshot, UserId, UserProfile,
    UserStatus,
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
    if snapshot.kinds().contains(ObjectKind::Users) {
        planner.primary_users(&primary.profile_authority());
    }
    planner.groups_and_memberships();
    planner.finish()
}

/// Plans a secondary inbound integration: it links accounts (by remote id, else by exact
/// email to an existing directory user) and keeps their per-vendor attributes, and keeps its
/// own groups, memberships and org units. It cannot write profiles or lifecycles: it has no
/// [`ProfileAuthority`].
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
    if snapshot.kinds().contains(ObjectKind::Users) {
        planner.secondary_accounts();
    }
    planner.groups_and_memberships();
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

/// The profile the source wants for one live user, borrowed from the snapshot.
struct Desired<'a> {
    remote: &'a RemoteUser,
    manager: Option<Manager>,
}

impl Desired<'_> {
    /// Whether `current` differs from it (what `current != self.profile()` says, without
    /// building the profile; the destructuring fails to compile if a field is added).
    fn differs(&self, current: &UserProfile) -> bool {
        let UserProfile {
            primary_email,
            name,
            manager,
            employee_id,
            employment_type,
            org_unit,
            is_admin,
        } = current;
        let r = self.remote;
        *primary_email != r.primary_email
            || *name != r.name
            || *manager != self.manager
            || *employee_id != r.employee_id
            || *employment_type != r.employment_type
            || *org_unit != r.org_unit
            || *is_admin != r.is_admin
    }

    fn profile(&self) -> UserProfile {
        let r = self.remote;
        UserProfile {
            primary_email: r.primary_email.clone(),
            name: r.name.clone(),
            manager: self.manager.clone(),
            employee_id: r.employee_id.clone(),
            employment_type: r.employment_type,
            org_unit: r.org_unit.clone(),
            is_admin: r.is_admin,
        }
    }
}

/// One usable remote user and who they are in the directory.
struct Live<'a> {
    remote: &'a RemoteUser,
    user: UserId,
    account: Option<&'a Account>,
    existing: Option<&'a DirectoryUser>,
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

    /// The remote users in scope whose email is unique in the snapshot; the others are
    /// quarantined (never acted on, never counted missing).
    fn usable_users(&mut self) -> Vec<&'a RemoteUser> {
        let filter = self.snapshot.filter();
        let in_scope: Vec<&'a RemoteUser> = self
            .snapshot
            .users()
            .iter()
            .filter(|u| {
                u.org_unit
                    .as_ref()
                    .is_none_or(|o| filter.includes_org_unit(o))
            })
            .collect();
        let mut per_email: HashMap<&Email, usize> = HashMap::with_capacity(in_scope.len());
        for u in &in_scope {
            *per_email.entry(&u.primary_email).or_default() += 1;
        }
        let mut usable = Vec::with_capacity(in_scope.len());
        for u in in_scope {
            let n = per_email.get(&u.primary_email).copied().unwrap_or(0);
            if n > 1 {
                let reason = format!("{n} users share this email in one snapshot");
                self.quarantine(
                    ObjectKind::Users,
                    &u.external_id,
                    u.primary_email.as_str(),
                    reason,
                );
            } else {
                usable.push(u);
            }
        }
        usable
    }

    /// Whether a stored account is inside the snapshot's scope (so its absence means something).
    fn account_in_scope(&self, account: &Account, users: &HashMap<UserId, &DirectoryUser>) -> bool {
        let filter = self.snapshot.filter();
        if filter.org_unit.is_none() {
            return true;
        }
        let org_unit = account
            .link
            .and_then(|l| users.get(&l.user))
            .and_then(|u| u.profile.org_unit.as_ref());
        org_unit.is_some_and(|o| filter.includes_org_unit(o))
    }

    fn desired_account(
        &self,
        remote: &RemoteUser,
        current: Option<&Account>,
        link: Option<AccountLink>,
    ) -> Account {
        Account {
            integration: self.id,
            external_id: remote.external_id.clone(),
            email: remote.primary_email.clone(),
            link,
            attributes: remote.attributes.clone(),
            // A new account's attributes are since it was first seen (now).
            attribute_since: current
                .map(|a| a.attribute_times(&remote.attributes, self.now))
                .unwrap_or_default(),
            first_seen: current.map_or(self.now, |a| a.first_seen),
            last_seen: current.map_or(self.now, |a| a.last_seen),
            missing_since: None,
            missing_runs: 0,
        }
    }

    /// Whether `current` is what [`desired_account`](Self::desired_account) would build (the
    /// comparison without the copies; the destructuring fails to compile if a field is added).
    fn account_matches(
        &self,
        current: &Account,
        remote: &RemoteUser,
        wanted: Option<AccountLink>,
    ) -> bool {
        let Account {
            integration,
            external_id,
            email,
            link,
            attributes,
            // Derived from `attributes` and the previous account: equal when they are.
            attribute_since: _,
            first_seen: _,
            last_seen: _,
            missing_since,
            missing_runs,
        } = current;
        *integration == self.id
            && *external_id == remote.external_id
            && *email == remote.primary_email
            && *link == wanted
            && *attributes == remote.attributes
            && missing_since.is_none()
            && *missing_runs == 0
    }

    /// Writes the account of `remote` if it differs from the stored one (its `last_seen` then
    /// becomes now).
    fn put_account(
        &mut self,
        remote: &RemoteUser,
        current: Option<&Account>,
        link: Option<AccountLink>,
    ) {
        match current {
            Some(c) if self.account_matches(c, remote, link) => {}
            Some(c) => {
                let mut desired = self.desired_account(remote, current, link);
                self.count(if c.missing_since.is_some() {
                    OpKind::AccountsReturned
                } else {
                    OpKind::AccountsUpdated
                });
                desired.last_seen = self.now;
                self.changes.push(DirectoryOp::UpsertAccount(desired));
            }
            None => {
                self.count(OpKind::AccountsAdded);
                let desired = self.desired_account(remote, None, link);
                self.changes.push(DirectoryOp::UpsertAccount(desired));
            }
        }
    }

    /// Marks a stored account missing for one more run; returns (runs, since).
    fn mark_missing(&mut self, account: &Account, count_run: bool) -> (u32, DateTime<Utc>) {
        let since = account.missing_since.unwrap_or(self.now);
        let runs = if count_run {
            account.missing_runs.saturating_add(1)
        } else {
            account.missing_runs.max(1)
        };
        if account.missing_since.is_none() || runs != account.missing_runs {
            let mut marked = account.clone();
            marked.missing_since = Some(since);
            marked.missing_runs = runs;
            if account.missing_since.is_none() {
                self.count(OpKind::AccountsMissing);
            }
            self.changes.push(DirectoryOp::UpsertAccount(marked));
        }
        (runs, since)
    }

    // ------------------------------------------------------------------------------------------
    // Primary: profiles and lifecycle

    fn primary_users(&mut self, authority: &ProfileAuthority<'_>) {
        let view = self.view;
        let Lookups {
            users,
            by_email,
            accounts,
            deleted,
        } = self.lookups();
        let usable = self.usable_users();
        let live_ids: HashSet<&ExternalId> = usable.iter().map(|u| &u.external_id).collect();

        // Who is who: linked accounts first, then email matches to users no live account holds
        // (a rehire or a recreated Google account), else a new user.
        let mut claimed: HashSet<UserId> = HashSet::with_capacity(usable.len());
        let mut live: Vec<Live<'a>> = Vec::with_capacity(usable.len());
        let mut unlinked: Vec<&'a RemoteUser> = Vec::new();
        for remote in usable {
            match accounts
                .get(&remote.external_id)
                .and_then(|a| a.link.map(|l| (*a, l.user)))
            {
                Some((account, user)) => {
                    claimed.insert(user);
                    live.push(Live {
                        remote,
                        user,
                        account: Some(account),
                        existing: users.get(&user).copied(),
                    });
                }
                None => unlinked.push(remote),
            }
        }
        for remote in unlinked {
            let matched = by_email
                .get(&remote.primary_email)
                .filter(|u| !claimed.contains(u))
                .copied();
            let user = matched.unwrap_or_else(|| {
                UserId::derived(self.id.as_uuid(), remote.external_id.as_str().as_bytes())
            });
            claimed.insert(user);
            live.push(Live {
                remote,
                user,
                account: accounts.get(&remote.external_id).copied(),
                existing: users.get(&user).copied(),
            });
        }
        live.sort_by(|a, b| a.remote.external_id.cmp(&b.remote.external_id));

        // Managers resolve against the directory as it will be after this plan.
        let mut resolve: HashMap<&Email, UserId> = view
            .users
            .iter()
            .filter(|u| !claimed.contains(&u.id))
            .map(|u| (&u.profile.primary_email, u.id))
            .collect();
        resolve.reserve(live.len());
        for l in &live {
            resolve.insert(&l.remote.primary_email, l.user);
        }
        // The desired profiles stay borrowed from the snapshot; only written ones are built.
        let mut desired: Vec<Desired<'a>> = Vec::with_capacity(live.len());
        for l in &live {
            let r = l.remote;
            let manager = r.manager_email.as_ref().map(|m| match resolve.get(m) {
                Some(id) => Manager::Resolved(*id),
                None => {
                    self.report
                        .unresolved_managers
                        .push((r.primary_email.clone(), m.clone()));
                    Manager::Unresolved(m.clone())
                }
            });
            desired.push(Desired { remote: r, manager });
        }
        self.report.manager_cycles = manager_cycles(&live, &desired);

        // Profile updates, ordered so that an email is released before it is taken. A new
        // user's email must be free as well, so creations take part in the ordering (they are
        // written after every update).
        let updates: Vec<usize> = (0..live.len())
            .filter(|&i| {
                live[i]
                    .existing
                    .is_none_or(|u| desired[i].differs(&u.profile))
            })
            .collect();
        let (ordered, stuck) = order_email_changes(&updates, &live, &desired, &by_email);
        let mut skip: HashSet<usize> = HashSet::new();
        for i in stuck {
            let r = live[i].remote;
            self.quarantine(ObjectKind::Users, &r.external_id, r.primary_email.as_str(),
                "its new email is held by another directory user (one who keeps it, or a swap); left unchanged".to_owned());
            skip.insert(i);
        }
        for i in ordered.into_iter().filter(|&i| live[i].existing.is_some()) {
            self.count(OpKind::UsersUpdated);
            self.changes.push(DirectoryOp::Profile(
                authority.update_profile(live[i].user, desired[i].profile()),
            ));
        }

        // Creations and lifecycle.
        for (i, l) in live.iter().enumerate() {
            if skip.contains(&i) {
                continue;
            }
            let employment = l.remote.employment_type;
            let source_suspended = l.remote.suspended || l.remote.archived;
            let admin = l.remote.is_admin || l.existing.is_some_and(|u| u.profile.is_admin);
            let email = &l.remote.primary_email;
            match l.existing.map(|u| u.status) {
                None => {
                    self.count(OpKind::UsersCreated);
                    self.changes
                        .push(DirectoryOp::Profile(authority.create_user(
                            l.user,
                            desired[i].profile(),
                            self.now,
                            employment,
                        )));
                }
                Some(UserStatus::Deprovisioned) => {
                    self.lifecycle(authority, l.user, LifecycleKind::Provisioned, employment);
                    self.count(OpKind::UsersReprovisioned);
                }
                Some(UserStatus::Suspended) if !source_suspended => {
                    self.lifecycle(authority, l.user, LifecycleKind::Reactivated, employment);
                    self.count(OpKind::UsersReactivated);
                }
                Some(status) if source_suspended => {
                    if self.source_suspension(authority, l.user, email, admin, status) {
                        self.users_removed += 1;
                    }
                }
                Some(_) => {}
            }
            // Arriving (or returning) suspended takes nobody active here away: mirrored, but no
            // removal for the users safeguard (an initial sync of a tenant with many suspended
            // users is not held).
            let arriving = matches!(
                l.existing.map(|u| u.status),
                None | Some(UserStatus::Deprovisioned)
            );
            if arriving && source_suspended {
                let _ = self.source_suspension(authority, l.user, email, admin, UserStatus::Active);
            }
        }

        // Accounts of live users (not of a user left uncreated above).
        for (i, l) in live.iter().enumerate() {
            if l.existing.is_none() && skip.contains(&i) {
                continue;
            }
            let link = l
                .account
                .and_then(|a| a.link)
                .filter(|k| k.user == l.user)
                .unwrap_or(AccountLink {
                    user: l.user,
                    by: LinkedBy::Provisioned,
                    at: self.now,
                });
            self.put_account(l.remote, l.account, Some(link));
        }

        // Accounts missing from the source.
        for account in &view.accounts {
            if live_ids.contains(&account.external_id)
                || self.present.contains(&account.external_id)
            {
                continue;
            }
            if !self.account_in_scope(account, &users) {
                continue;
            }
            let Some(user) = account.link.and_then(|l| users.get(&l.user).copied()) else {
                self.mark_missing(account, true);
                continue;
            };
            if claimed.contains(&user.id) {
                // The person is present under another remote id: this account is just gone.
                self.mark_missing(account, false);
                continue;
            }
            let admin = user.profile.is_admin;
            let email = user.profile.primary_email.clone();
            if deleted.contains(&account.external_id) {
                self.mark_missing(account, false);
                if user.status != UserStatus::Deprovisioned
                    && self.act(
                        authority,
                        user.id,
                        &email,
                        admin,
                        LifecycleKind::Deprovisioned,
                        "the source deleted them",
                    )
                {
                    self.users_removed += 1;
                }
                continue;
            }
            let target = match self.policy.on_missing {
                crate::OnMissing::Deprovision => UserStatus::Deprovisioned,
                crate::OnMissing::Suspend => UserStatus::Suspended,
            };
            let done = user.status == target || user.status == UserStatus::Deprovisioned;
            let (runs, since) = self.mark_missing(account, !done);
            if done {
                continue;
            }
            if self.policy.grace.expired(runs, self.now - since) {
                let kind = if target == UserStatus::Deprovisioned {
                    LifecycleKind::Deprovisioned
                } else {
                    LifecycleKind::Suspended
                };
                if user.status == UserStatus::Suspended && kind == LifecycleKind::Suspended {
                    continue;
                }
                if self.act(
                    authority,
                    user.id,
                    &email,
                    admin,
                    kind,
                    "missing from the source after the grace",
                ) {
                    self.users_removed += 1;
                }
            } else {
                self.report.in_grace.push((email, runs));
            }
        }
    }

    fn lifecycle(
        &mut self,
        authority: &ProfileAuthority<'_>,
        user: UserId,
        kind: LifecycleKind,
        employment_type: Option<dirsync_core::EmploymentType>,
    ) {
        let event = LifecycleEvent {
            at: self.now,
            kind,
            employment_type,
        };
        self.changes
            .push(DirectoryOp::Profile(authority.lifecycle(user, event)));
    }

    /// Suspends or deprovisions a user unless the policy protects administrators; says whether
    /// it did. The caller counts it towards the users safeguard when it takes an active user
    /// of the directory away.
    #[must_use]
    fn act(
        &mut self,
        authority: &ProfileAuthority<'_>,
        user: UserId,
        email: &Email,
        admin: bool,
        kind: LifecycleKind,
        why: &str,
    ) -> bool {
        if admin && !self.policy.act_on_admins {
            self.report
                .protected
                .push((email.clone(), format!("administrator not {kind} ({why})")));
            return false;
        }
        self.lifecycle(authority, user, kind, None);
        self.count(if kind == LifecycleKind::Deprovisioned {
            OpKind::UsersDeprovisioned
        } else {
            OpKind::UsersSuspended
        });
        true
    }

    /// Mirrors a suspension by the source, per policy, from the user's current `status`; says
    /// whether it acted.
    #[must_use]
    fn source_suspension(
        &mut self,
        authority: &ProfileAuthority<'_>,
        user: UserId,
        email: &Email,
        admin: bool,
        status: UserStatus,
    ) -> bool {
        let why = "suspended in the source";
        let kind = match (self.policy.on_suspended, status) {
            (crate::OnSuspended::Suspend, UserStatus::Active) => LifecycleKind::Suspended,
            (crate::OnSuspended::Deprovision, UserStatus::Active | UserStatus::Suspended) => {
                LifecycleKind::Deprovisioned
            }
            _ => return false,
        };
        self.act(authority, user, email, admin, kind, why)
    }

    // ------------------------------------------------------------------------------------------
    // Secondary: accounts and attributes only

    fn secondary_accounts(&mut self) {
        let view = self.view;
        let Lookups {
            users,
            by_email,
            accounts,
            deleted,
        } = self.lookups();
        let usable = self.usable_users();
        let live_ids: HashSet<&ExternalId> = usable.iter().map(|u| &u.external_id).collect();
        for remote in usable {
            let current = accounts.get(&remote.external_id).copied();
            let link = match current.and_then(|a| a.link) {
                Some(link) => Some(link),
                None => by_email.get(&remote.primary_email).map(|user| {
                    self.count(OpKind::AccountsLinked);
                    AccountLink {
                        user: *user,
                        by: LinkedBy::EmailMatch,
                        at: self.now,
                    }
                }),
            };
            self.put_account(remote, current, link);
        }
        for account in &view.accounts {
            if live_ids.contains(&account.external_id)
                || self.present.contains(&account.external_id)
            {
                continue;
            }
            if !self.account_in_scope(account, &users) {
                continue;
            }
            // The source reporting a deletion is positive evidence: no grace.
            let runs = account.missing_runs.saturating_add(1);
            let since = account.missing_since.unwrap_or(self.now);
            if deleted.contains(&account.external_id)
                || self.policy.grace.expired(runs, self.now - since)
            {
                self.count(OpKind::AccountsRemoved);
                self.users_removed += 1;
                self.changes.push(DirectoryOp::RemoveAccount {
                    external_id: account.external_id.clone(),
                });
            } else {
                self.mark_missing(account, true);
                self.report.in_grace.push((account.email.clone(), runs));
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Org units, groups and memberships (any inbound integration, its own objects)

    fn org_units(&mut self) {
        if !self.snapshot.kinds().contains(ObjectKind::OrgUnits) {
            return;
        }
        let filter = self.snapshot.filter();
        let current: HashMap<&ExternalId, &OrgUnit> = self
            .view
            .org_units
            .iter()
            .map(|o| (&o.external_id, o))
            .collect();
        let mut seen: HashSet<&ExternalId> = HashSet::new();
        for remote in self
            .snapshot
            .org_units()
            .iter()
            .filter(|o| filter.includes_org_unit(&o.path))
        {
            seen.insert(&remote.external_id);
            let desired = OrgUnit {
                integration: self.id,
                external_id: remote.external_id.clone(),
                path: remote.path.clone(),
                name: remote.name.clone(),
                description: remote.description.clone(),
                parent: remote.parent.clone(),
            };
            match current.get(&remote.external_id) {
                Some(c) if **c == desired => {}
                Some(_) => {
                    self.count(OpKind::OrgUnitsUpdated);
                    self.changes.push(DirectoryOp::UpsertOrgUnit(desired));
                }
                None => {
                    self.count(OpKind::OrgUnitsCreated);
                    self.changes.push(DirectoryOp::UpsertOrgUnit(desired));
                }
            }
        }
        let view = self.view;
        for unit in &view.org_units {
            if !seen.contains(&unit.external_id)
                && !self.present.contains(&unit.external_id)
                && filter.includes_org_unit(&unit.path)
            {
                self.count(OpKind::OrgUnitsRemoved);
                self.changes.push(DirectoryOp::RemoveOrgUnit {
                    external_id: unit.external_id.clone(),
                });
            }
        }
    }

    fn groups_and_memberships(&mut self) {
        let kinds = self.snapshot.kinds();
        let with_members = kinds.contains(ObjectKind::Memberships);
        if !kinds.contains(ObjectKind::Groups) && !with_members {
            return;
        }
        let filter = self.snapshot.filter();
        let view = self.view;
        let current: HashMap<&ExternalId, &Group> =
            view.groups.iter().map(|g| (&g.external_id, g)).collect();
        let mut kept: HashSet<&ExternalId> = HashSet::new();
        for remote in self
            .snapshot
            .groups()
            .iter()
            .filter(|g| filter.includes_group(&g.email))
        {
            kept.insert(&remote.external_id);
            let existing = current.get(&remote.external_id);
            let desired = Group {
                id: existing.map_or_else(
                    || GroupId::derived(self.id.as_uuid(), remote.external_id.as_str().as_bytes()),
                    |g| g.id,
                ),
                integration: self.id,
                external_id: remote.external_id.clone(),
                email: remote.email.clone(),
                name: remote.name.clone(),
                description: remote.description.clone(),
            };
            match existing {
                Some(c) if **c == desired => {}
                Some(_) => {
                    self.count(OpKind::GroupsUpdated);
                    self.changes.push(DirectoryOp::UpsertGroup(desired));
                }
                None => {
                    self.count(OpKind::GroupsCreated);
                    self.changes.push(DirectoryOp::UpsertGroup(desired));
                }
            }
        }
        let removed: HashSet<&ExternalId> = view
            .groups
            .iter()
            .filter(|g| {
                !kept.contains(&g.external_id)
                    && !self.present.contains(&g.external_id)
                    && filter.includes_group(&g.email)
            })
            .map(|g| &g.external_id)
            .collect();

        if with_members {
            let in_scope = |group: &ExternalId| {
                kept.contains(group)
                    || removed.contains(group)
                    || current
                        .get(group)
                        .is_some_and(|g| filter.includes_group(&g.email))
            };
            let wanted: Vec<&'a RemoteMember> = sorted_by_key(
                self.snapshot
                    .members()
                    .iter()
                    .filter(|m| kept.contains(&m.group))
                    .collect(),
                remote_key,
            );
            let stored: Vec<&'a Membership> =
                sorted_by_key(view.memberships.iter().collect(), stored_key);
            // A merge join of two lists sorted by key: no map, no key copied.
            let mut upserts: Vec<(OpKind, &'a RemoteMember)> = Vec::new();
            let (mut w, mut s) = (0, 0);
            // The group of the last stored membership looked at, and whether it is in scope.
            let mut scope: Option<(&ExternalId, bool)> = None;
            while w < wanted.len() || s < stored.len() {
                let order = match (wanted.get(w), stored.get(s)) {
                    (Some(r), Some(m)) => remote_key(r).cmp(&stored_key(m)),
                    (Some(_), None) => Ordering::Less,
                    _ => Ordering::Greater,
                };
                match order {
                    Ordering::Equal => {
                        let (r, m) = (wanted[w], stored[s]);
                        if m.integration != self.id || m.member != r.member || m.role != r.role {
                            upserts.push((OpKind::MembershipsUpdated, r));
                        }
                        w += 1;
                        s += 1;
                    }
                    Ordering::Less => {
                        upserts.push((OpKind::MembershipsAdded, wanted[w]));
                        w += 1;
                    }
                    Ordering::Greater => {
                        let m = stored[s];
                        s += 1;
                        let group_in_scope = match scope {
                            Some((g, yes)) if *g == m.group => yes,
                            _ => {
                                let yes = in_scope(&m.group);
                                scope = Some((&m.group, yes));
                                yes
                            }
                        };
                        if !group_in_scope {
                            continue;
                        }
                        self.memberships_removed += 1;
                        let cascaded = removed.contains(&m.group)
                            || (m.member.kind == dirsync_core::MemberKind::Group
                                && removed.contains(&m.member.external_id));
                        if !cascaded {
                            self.count(OpKind::MembershipsRemoved);
                            self.changes.push(DirectoryOp::RemoveMembership(m.key()));
                        }
                    }
                }
            }
            for (kind, r) in upserts {
                self.count(kind);
                self.changes.push(DirectoryOp::UpsertMembership(Membership {
                    integration: self.id,
                    group: r.group.clone(),
                    member: r.member.clone(),
                    role: r.role,
                }));
            }
        }
        for group in &view.groups {
            if removed.contains(&group.external_id) {
                self.groups_removed += 1;
                self.count(OpKind::GroupsRemoved);
                self.changes.push(DirectoryOp::RemoveGroup {
                    external_id: group.external_id.clone(),
                });
            }
        }
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
        )?)
    }
}

/// A membership's identity, borrowed: (group, member kind, member id).
type KeyRef<'k> = (&'k ExternalId, MemberKind, &'k ExternalId);

fn remote_key(m: &RemoteMember) -> KeyRef<'_> {
    (&m.group, m.member.kind, &m.member.external_id)
}

fn stored_key(m: &Membership) -> KeyRef<'_> {
    (&m.group, m.member.kind, &m.member.external_id)
}

/// `items` sorted by `key`: left as they are when they already are (the snapshot and the view
/// promise it, so this is one linear check), sorted otherwise.
fn sorted_by_key<T>(mut items: Vec<&T>, key: fn(&T) -> KeyRef<'_>) -> Vec<&T> {
    if !items.is_sorted_by(|a, b| key(a) <= key(b)) {
        items.sort_by(|a, b| key(a).cmp(&key(b)));
    }
    items
}

/// Orders profile updates so that a user's old email is released before another user takes
/// it. Returns the order and the updates that cannot be made: stuck in a cycle (an email
/// swap), or taking an email that a user who keeps it holds (such as a user who left).
fn order_email_changes(
    updates: &[usize],
    live: &[Live<'_>],
    desired: &[Desired<'_>],
    by_email: &HashMap<&Email, UserId>,
) -> (Vec<usize>, Vec<usize>) {
    // `update i` waits for `update j` when i's new email is currently j's.
    let index_of: HashMap<UserId, usize> = updates.iter().map(|&i| (live[i].user, i)).collect();
    let waits_for = |i: usize| -> Option<usize> {
        let new = &desired[i].remote.primary_email;
        let holder = by_email.get(new)?;
        if *holder == live[i].user {
            return None;
        }
        let Some(&j) = index_of.get(holder) else {
            // Held by a user whose email does not change (e.g. one who left and keeps it):
            // this update can never go first, so it stays pending (stuck).
            return Some(usize::MAX);
        };
        (desired[j].remote.primary_email != *new).then_some(j)
    };
    let mut done: HashSet<usize> = HashSet::new();
    let mut order = Vec::with_capacity(updates.len());
    let mut pending: Vec<usize> = updates.to_vec();
    loop {
        let before = pending.len();
        pending.retain(|&i| match waits_for(i) {
            Some(j) if !done.contains(&j) => true,
            _ => {
                done.insert(i);
                order.push(i);
                false
            }
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    (order, pending)
}

/// The cycles in the manager graph of the live users, each reported once, as emails.
fn manager_cycles(live: &[Live<'_>], desired: &[Desired<'_>]) -> Vec<Vec<Email>> {
    let index: HashMap<UserId, usize> = live.iter().enumerate().map(|(i, l)| (l.user, i)).collect();
    let next = |i: usize| match &desired[i].manager {
        Some(Manager::Resolved(m)) => index.get(m).copied(),
        _ => None,
    };
    // 0 = unvisited, 1 = on the current path, 2 = finished.
    let mut state = vec![0u8; live.len()];
    let mut cycles = Vec::new();
    for start in 0..live.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                0 => {
                    state[i] = 1;
                    path.push(i);
                    at = next(i);
                }
                1 => {
                    if let Some(pos) = path.iter().position(|&p| p == i) {
                        cycles.push(
                            path[pos..]
                                .iter()
                                .map(|&p| desired[p].remote.primary_email.clone())
                                .collect(),
                        );
                    }
                    break;
                }
                _ => break,
            }
        }
        for p in path {
            state[p] = 2;
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use dirsync_core::{Member, MemberRole};

    use super::*;

    fn membership(
        integration: IntegrationId,
        group: &str,
        kind: MemberKind,
        member: &str,
    ) -> Membership {
        Membership {
            integration,
            group: ExternalId::new(group).unwrap_or_else(|e| panic!("{e}")),
            member: Member {
                kind,
                external_id: ExternalId::new(member).unwrap_or_else(|e| panic!("{e}")),
                email: None,
            },
            role: MemberRole::Member,
        }
    }

    #[test]
    fn the_merge_join_input_is_sorted_by_key_whatever_order_it_came_in() {
        let id = IntegrationId::random();
        let rows = [
            membership(id, "g2", MemberKind::User, "a"),
            membership(id, "g1", MemberKind::Group, "b"),
            membership(id, "g1", MemberKind::User, "c"),
            membership(id, "g1", MemberKind::User, "a"),
        ];
        let keys = |list: &[&Membership]| -> Vec<dirsync_core::MembershipKey> {
            list.iter().map(|m| m.key()).collect()
        };
        let mut expected: Vec<&Membership> = rows.iter().collect();
        expected.sort_by_key(|m| m.key());
        let shuffled = sorted_by_key(rows.iter().collect(), stored_key);
        assert_eq!(keys(&shuffled), keys(&expected));
        // Already sorted: left as it is.
        let again = sorted_by_key(expected.clone(), stored_key);
        assert_eq!(keys(&again), keys(&expected));
    }
}
