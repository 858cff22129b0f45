//! Safeguards: thresholds on destructive changes that hold a run for approval.
//!
//! Plain data, so that an integration can carry its own ([`IntegrationRecord::safeguards`])
//! and the engine can check a plan against them.
//!
//! [`IntegrationRecord::safeguards`]: crate::IntegrationRecord::safeguards

use serde::{Deserialize, Serialize};

/// A safeguard threshold for one kind of destructive change.
///
/// It trips when the number of changes is **more than** `max_count`, or when it is more than
/// `max_percent` of what the store holds **and** at least `min_count` (so that one leaver in a
/// team of three does not hold a run, while a run that empties a small directory still does).
/// Made with [`Threshold::new`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Threshold {
    /// The most changes allowed, whatever the total.
    pub max_count: u64,
    /// The largest share of the total allowed, in percent.
    pub max_percent: f64,
    /// The percentage applies from this many changes on.
    pub min_count: u64,
}

impl Threshold {
    /// At most `max_count` changes, and at most `max_percent` of the total from `min_count`
    /// changes on.
    pub fn new(max_count: u64, max_percent: f64, min_count: u64) -> Self {
        Self {
            max_count,
            max_percent,
            min_count,
        }
    }

    /// Whether `count` changes out of `total` trip it.
    pub fn trips(&self, count: u64, total: u64) -> bool {
        if count > self.max_count {
            return true;
        }
        if count < self.min_count.max(1) || total == 0 {
            return false;
        }
        percent(count, total) > self.max_percent
    }
}

/// `count` as a percentage of `total` (0 when `total` is 0).
pub fn percent(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 * 100.0 / total as f64
    }
}

/// Safeguards per kind of destructive change, relative to the current store. Start from
/// [`Safeguards::default`] and change thresholds with the `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Safeguards {
    /// Users to deprovision or suspend (primary), accounts to remove (secondaries).
    pub users: Threshold,
    /// Groups to remove.
    pub groups: Threshold,
    /// Memberships to remove.
    pub memberships: Threshold,
    /// Members to remove from one managed remote group (outbound), relative to its current
    /// members; checked group by group.
    #[serde(default = "default_remote_members")]
    pub remote_members: Threshold,
}

impl Safeguards {
    /// The threshold for users to deprovision or suspend (accounts to remove, for secondaries).
    pub fn with_users(mut self, threshold: Threshold) -> Self {
        self.users = threshold;
        self
    }

    /// The threshold for groups to remove.
    pub fn with_groups(mut self, threshold: Threshold) -> Self {
        self.groups = threshold;
        self
    }

    /// The threshold for memberships to remove.
    pub fn with_memberships(mut self, threshold: Threshold) -> Self {
        self.memberships = threshold;
        self
    }

    /// The threshold for members to remove from one managed remote group.
    pub fn with_remote_members(mut self, threshold: Threshold) -> Self {
        self.remote_members = threshold;
        self
    }
}

fn default_remote_members() -> Threshold {
    Threshold {
        max_count: 100,
        max_percent: 20.0,
        min_count: 5,
    }
}

impl Default for Safeguards {
    fn default() -> Self {
        Self {
            users: Threshold {
                max_count: 50,
                max_percent: 10.0,
                min_count: 3,
            },
            groups: Threshold {
                max_count: 20,
                max_percent: 10.0,
                min_count: 3,
            },
            memberships: Threshold {
                max_count: 500,
                max_percent: 20.0,
                min_count: 10,
            },
            remote_members: default_remote_members(),
        }
    }
}
