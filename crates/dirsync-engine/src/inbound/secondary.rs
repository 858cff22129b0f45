//! A secondary's accounts: linked by remote id or email, attributes only; never a profile or a
//! lifecycle.

use foldhash::HashSet;

use dirsync_core::{AccountLink, DirectoryOp, ExternalId, LinkedBy};

use super::{Lookups, Planner};
use crate::plan::OpKind;

impl<'a> Planner<'a> {
    pub(super) fn secondary_accounts(&mut self) {
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
}
