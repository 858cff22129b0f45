//! Outbound follows (issue 19 point 5): a directory change made by push or polling runs, at
//! once, only the outbound integrations whose rules can select what changed — not every
//! outbound integration, and not at their next scheduled run:
//!
//! - a user changed by push: the integrations that place users (a user provisioning rule or a
//!   group assignment, whose selectors may now take the user in or out, or see it suspended);
//! - a group changed by polling: the integrations whose rules name it — a selector of a user
//!   provisioning rule or a group assignment (`Selector::Group`), or a group provisioning rule
//!   whose groups include it (listed, or every group of the inbound integration it came from);
//! - a storm's full sync: every active outbound integration.
//!
//! Each such integration runs as a whole (its plan is computed from the whole directory: the
//! engine plans outbound runs only so); what is narrowed is which integrations run.

use std::collections::BTreeSet;

use dirsync_core::{AnyIntegration, DirectionKind, Email, GroupSource, IntegrationId};

use crate::Service;
use crate::progress::Silent;

/// What a push or a poll changed in the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Affected {
    /// Users changed (by push).
    pub(crate) users: bool,
    /// Groups changed (by polling), by email, and the inbound integration they came from.
    pub(crate) groups: BTreeSet<(IntegrationId, Email)>,
    /// Anything could have changed (a full sync ran).
    pub(crate) everything: bool,
}

impl Affected {
    /// Whether nothing changed.
    pub(crate) fn is_empty(&self) -> bool {
        !self.users && !self.everything && self.groups.is_empty()
    }

    /// Whether outbound integration `any`'s rules can select what changed.
    pub(crate) fn concerns(&self, any: &AnyIntegration) -> bool {
        if self.everything {
            return true;
        }
        any.record().rules.iter().any(|rule| {
            let places_users = rule.provision_users.is_some() || rule.assignment.is_some();
            if self.users && places_users {
                return true;
            }
            let selected: BTreeSet<&Email> = rule
                .assignment
                .iter()
                .map(|a| &a.select)
                .chain(rule.provision_users.iter().map(|p| &p.select))
                .flat_map(|s| s.groups())
                .collect();
            self.groups.iter().any(|(from, email)| {
                selected.contains(email)
                    || rule
                        .provision_groups
                        .as_ref()
                        .is_some_and(|g| match &g.source {
                            GroupSource::Groups(listed) => listed.contains(email),
                            GroupSource::AllOf(of) => of == from,
                            _ => false,
                        })
            })
        })
    }
}

impl Service {
    /// Runs, now, the active outbound integrations `affected` concerns (see the module
    /// documentation); failures are logged (their schedule is the backstop).
    pub(crate) async fn follow_outbound(&self, affected: &Affected) {
        if affected.is_empty() {
            return;
        }
        let all = match self.store.integrations().await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, "outbound follow-up of a push: the integrations could not be read; their schedules will run them");
                return;
            }
        };
        for any in all.iter().filter(|a| {
            a.direction() == DirectionKind::Outbound && a.state().can_sync() && affected.concerns(a)
        }) {
            if let Err(e) = self.sync(any.id(), &Silent).await {
                tracing::info!(integration = %any.id(), error = %e, "outbound follow-up of a push did not run; its schedule will");
            }
        }
    }
}
