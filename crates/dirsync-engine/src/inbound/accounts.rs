//! Accounts, for both roles: which remote users are usable, an account's scope, writing it
//! and marking it missing.

use foldhash::{HashMap, HashMapExt};

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AccountLink, DirectoryOp, DirectoryUser, Email, ObjectKind, RemoteUser, UserId,
};

use super::Planner;
use crate::plan::OpKind;

impl<'a> Planner<'a> {
    /// The remote users in scope whose email is unique in the snapshot; the others are
    /// quarantined (never acted on, never counted missing).
    pub(super) fn usable_users(&mut self) -> Vec<&'a RemoteUser> {
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
    pub(super) fn account_in_scope(
        &self,
        account: &Account,
        users: &HashMap<UserId, &DirectoryUser>,
    ) -> bool {
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

    pub(super) fn desired_account(
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
    pub(super) fn account_matches(
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
    pub(super) fn put_account(
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
    pub(super) fn mark_missing(
        &mut self,
        account: &Account,
        count_run: bool,
    ) -> (u32, DateTime<Utc>) {
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
}
