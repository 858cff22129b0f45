//! The primary's users: who is who, their profiles (with managers and email changes in a safe
//! order), creations, lifecycles and the accounts missing from the source.

use foldhash::{HashMap, HashSet, HashSetExt};

use dirsync_core::{
    Account, AccountLink, DirectoryOp, DirectoryUser, Email, ExternalId, LifecycleEvent,
    LifecycleKind, LinkedBy, Manager, ObjectKind, ProfileAuthority, RemoteUser, UserId,
    UserProfile, UserStatus,
};

use super::graph::{manager_cycles, order_email_changes};
use super::{Lookups, Planner};
use crate::plan::OpKind;

/// The profile the source wants for one live user, borrowed from the snapshot.
pub(super) struct Desired<'a> {
    pub(super) remote: &'a RemoteUser,
    pub(super) manager: Option<Manager>,
}

impl Desired<'_> {
    /// Whether `current` differs from it (what `current != self.profile()` says, without
    /// building the profile; the destructuring fails to compile if a field is added).
    pub(super) fn differs(&self, current: &UserProfile) -> bool {
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

    pub(super) fn profile(&self) -> UserProfile {
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
pub(super) struct Live<'a> {
    pub(super) remote: &'a RemoteUser,
    pub(super) user: UserId,
    pub(super) account: Option<&'a Account>,
    pub(super) existing: Option<&'a DirectoryUser>,
}

impl<'a> Planner<'a> {
    /// The primary's users, step by step: who is who, the profiles the source wants (managers
    /// resolved), profile updates in a safe email order, creations and lifecycles, the accounts
    /// of live users, and the accounts missing from the source.
    pub(super) fn primary_users(&mut self, authority: &ProfileAuthority<'_>) {
        let lookups = self.lookups();
        let usable = self.usable_users();
        let live_ids: HashSet<&ExternalId> = usable.iter().map(|u| &u.external_id).collect();
        let (live, claimed) = self.who_is_who(usable, &lookups);
        let desired = self.desired_profiles(&live, &claimed);
        self.report.manager_cycles = manager_cycles(&live, &desired);
        let skip = self.update_profiles(authority, &live, &desired, &lookups.by_email);
        self.create_and_transition(authority, &live, &desired, &skip);
        self.live_accounts(&live, &skip);
        self.missing_accounts(authority, &lookups, &live_ids, &claimed);
    }

    /// Who is who: linked accounts first, then email matches to users no live account holds
    /// (a rehire or a recreated Google account), else a new user. Returns the live users
    /// sorted by remote id and the directory users they claim.
    fn who_is_who(
        &self,
        usable: Vec<&'a RemoteUser>,
        lookups: &Lookups<'a>,
    ) -> (Vec<Live<'a>>, HashSet<UserId>) {
        let Lookups {
            users,
            by_email,
            accounts,
            ..
        } = lookups;
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
        (live, claimed)
    }

    /// The profiles the source wants, in the order of `live`: managers resolve against the
    /// directory as it will be after this plan (unresolved ones are reported). The profiles
    /// stay borrowed from the snapshot; only written ones are built.
    fn desired_profiles(
        &mut self,
        live: &[Live<'a>],
        claimed: &HashSet<UserId>,
    ) -> Vec<Desired<'a>> {
        let view = self.view;
        let mut resolve: HashMap<&Email, UserId> = view
            .users
            .iter()
            .filter(|u| !claimed.contains(&u.id))
            .map(|u| (&u.profile.primary_email, u.id))
            .collect();
        resolve.reserve(live.len());
        for l in live {
            resolve.insert(&l.remote.primary_email, l.user);
        }
        // The desired profiles stay borrowed from the snapshot; only written ones are built.
        let mut desired: Vec<Desired<'a>> = Vec::with_capacity(live.len());
        for l in live {
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
        desired
    }

    /// Profile updates, ordered so that an email is released before it is taken. A new
    /// user's email must be free as well, so creations take part in the ordering (they are
    /// written after every update). Returns the users left unchanged (stuck on an email).
    fn update_profiles(
        &mut self,
        authority: &ProfileAuthority<'_>,
        live: &[Live<'a>],
        desired: &[Desired<'a>],
        by_email: &HashMap<&'a Email, UserId>,
    ) -> HashSet<usize> {
        let updates: Vec<usize> = (0..live.len())
            .filter(|&i| {
                live[i]
                    .existing
                    .is_none_or(|u| desired[i].differs(&u.profile))
            })
            .collect();
        let (ordered, stuck) = order_email_changes(&updates, live, desired, by_email);
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
        skip
    }

    /// Creations and lifecycle transitions of the live users not in `skip`.
    fn create_and_transition(
        &mut self,
        authority: &ProfileAuthority<'_>,
        live: &[Live<'a>],
        desired: &[Desired<'a>],
        skip: &HashSet<usize>,
    ) {
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
    }

    /// Accounts of live users (not of a user left uncreated by [`Self::update_profiles`]).
    fn live_accounts(&mut self, live: &[Live<'a>], skip: &HashSet<usize>) {
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
    }

    /// Accounts missing from the source: marked missing, and their users deprovisioned on
    /// the source's word or suspended or deprovisioned (per policy) once the grace expired.
    fn missing_accounts(
        &mut self,
        authority: &ProfileAuthority<'_>,
        lookups: &Lookups<'a>,
        live_ids: &HashSet<&ExternalId>,
        claimed: &HashSet<UserId>,
    ) {
        let view = self.view;
        let Lookups { users, deleted, .. } = lookups;
        for account in &view.accounts {
            if live_ids.contains(&account.external_id)
                || self.present.contains(&account.external_id)
            {
                continue;
            }
            if !self.account_in_scope(account, users) {
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

    pub(super) fn lifecycle(
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
    pub(super) fn act(
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
    pub(super) fn source_suspension(
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
}
