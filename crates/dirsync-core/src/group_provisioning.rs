//! Outbound group provisioning: which directory groups an outbound rule provisions as remote
//! groups ([`GroupProvisioning`]), and the record that a remote group is this integration's
//! ([`OwnedGroup`]).
//!
//! Google groups carry no `externalIds`, so a group's ownership is kept in the store, by email:
//! a [`GroupOrigin::Pending`] record is written *before* a `groups.insert` is sent, and becomes
//! [`GroupOrigin::Created`] once the remote confirms it (the answer, or a later read finding the
//! group). An insert whose answer was lost (or whose run was killed) is so recognised by the
//! next run, and a group someone else made with that email is never taken for ours: without a
//! record it is a conflict (unless the rule is fully managed, which adopts it).
//!
//! ```
//! use dirsync_core::{Email, GroupProvisioning, GroupSource, IntegrationId};
//!
//! let rule = GroupProvisioning::new(GroupSource::Groups(
//!     [Email::new("team@example.com")?].into(),
//! ));
//! assert!(rule.selects(IntegrationId::random(), &Email::new("TEAM@example.com")?));
//! let all = GroupProvisioning::new(GroupSource::AllOf(IntegrationId::random()));
//! assert!(!all.fully_managed);
//! # Ok::<(), dirsync_core::Error>(())
//! ```

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Email, IntegrationId};

/// Which directory groups a [`GroupProvisioning`] rule provisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupSource {
    /// These groups (by email), of any inbound integration.
    Groups(BTreeSet<Email>),
    /// Every group of this inbound integration.
    AllOf(IntegrationId),
}

/// Which directory groups an outbound rule provisions as remote groups (with their members:
/// users, and nested groups that are provisioned too), and how far it may go.
///
/// A group this integration created is deleted when it is no longer provisioned (through the
/// groups safeguard); an existing remote group with the email of a group to provision is
/// adopted and kept in step only when the rule is [`fully_managed`](Self::fully_managed),
/// otherwise it is reported as a conflict and left untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GroupProvisioning {
    /// Which directory groups.
    pub source: GroupSource,
    /// Adopt and modify an existing remote group this integration did not create.
    #[serde(default)]
    pub fully_managed: bool,
}

impl GroupProvisioning {
    /// Provisions the groups of `source`, adopting none.
    pub fn new(source: GroupSource) -> Self {
        Self {
            source,
            fully_managed: false,
        }
    }

    /// Whether existing remote groups are adopted and modified.
    #[must_use]
    pub fn fully_managing(mut self, yes: bool) -> Self {
        self.fully_managed = yes;
        self
    }

    /// Whether the directory group `email` of inbound integration `integration` is provisioned.
    pub fn selects(&self, integration: IntegrationId, email: &Email) -> bool {
        match &self.source {
            GroupSource::Groups(emails) => emails.iter().any(|e| e.key() == email.key()),
            GroupSource::AllOf(of) => *of == integration,
        }
    }
}

/// How a remote group came to be an outbound integration's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupOrigin {
    /// A `groups.insert` was (or is about to be) sent and its answer not yet seen: a group
    /// with this email found later is the one it made.
    Pending,
    /// This integration created the group: it may delete it.
    Created,
    /// The group existed and a fully managed rule adopted it: kept in step, never deleted.
    Adopted,
}

/// The record that a remote group (by email) is an outbound integration's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedGroup {
    /// The outbound integration.
    pub integration: IntegrationId,
    /// The remote group's email.
    pub email: Email,
    /// Pending, created or adopted.
    pub origin: GroupOrigin,
    /// When the record was written.
    pub recorded_at: DateTime<Utc>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_with_defaults_and_selects_by_email_or_integration() {
        let i = IntegrationId::random();
        let rule: GroupProvisioning =
            serde_json::from_str(&format!(r#"{{"source":{{"all_of":"{i}"}}}}"#)).unwrap();
        assert_eq!(rule, GroupProvisioning::new(GroupSource::AllOf(i)));
        let team = Email::new("team@example.com").unwrap();
        assert!(rule.selects(i, &team));
        assert!(!rule.selects(IntegrationId::random(), &team));
        let named = GroupProvisioning::new(GroupSource::Groups([team.clone()].into()));
        assert!(named.selects(IntegrationId::random(), &team));
        assert!(!named.selects(i, &Email::new("other@example.com").unwrap()));
        assert!(
            serde_json::from_str::<GroupProvisioning>(r#"{"source":{"groups":[]},"adopt":true}"#)
                .is_err()
        );
    }
}
