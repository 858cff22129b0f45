//! What the engine may do: safeguards, grace, and how to treat suspended and missing users.

use chrono::Duration;
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

/// How long a user may be missing from the source before the engine acts. Both conditions
/// must hold; set one to zero to rely on the other alone. A user the source reports as deleted
/// needs no grace. Made with [`Grace::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Grace {
    /// Consecutive complete runs the user must be missing from.
    pub runs: u32,
    /// How long since the user was first found missing, in seconds.
    pub seconds: i64,
}

impl Grace {
    /// Missing for at least `runs` consecutive complete runs and `seconds` since first missed.
    pub fn new(runs: u32, seconds: i64) -> Self {
        Self { runs, seconds }
    }

    /// Whether a user missing for `runs` runs since `elapsed` has used up the grace.
    pub fn expired(&self, runs: u32, elapsed: Duration) -> bool {
        runs >= self.runs && elapsed >= Duration::seconds(self.seconds)
    }
}

impl Default for Grace {
    fn default() -> Self {
        Self {
            runs: 3,
            seconds: 24 * 3600,
        }
    }
}

/// What to do with a directory user when the source suspends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnSuspended {
    /// Suspend them too (the default: suspend before delete).
    Suspend,
    /// Deprovision them.
    Deprovision,
}

/// What to do with a directory user once their grace has run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnMissing {
    /// Suspend them.
    Suspend,
    /// Deprovision them (the default: the grace was the waiting period).
    Deprovision,
}

/// Everything the planner and the safeguards need to decide. Start from [`Policy::default`]
/// and change it with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Policy {
    /// Thresholds that hold a run for approval.
    pub safeguards: Safeguards,
    /// Grace before acting on a missing user.
    pub grace: Grace,
    /// Users the source suspends.
    pub on_suspended: OnSuspended,
    /// Users missing after the grace.
    pub on_missing: OnMissing,
    /// Whether administrators may be suspended or deprovisioned by a sync (default: no; they
    /// are reported as protected instead).
    pub act_on_admins: bool,
}

impl Policy {
    /// These safeguards.
    pub fn with_safeguards(mut self, safeguards: Safeguards) -> Self {
        self.safeguards = safeguards;
        self
    }

    /// This grace before acting on a missing user.
    pub fn with_grace(mut self, grace: Grace) -> Self {
        self.grace = grace;
        self
    }

    /// What to do with users the source suspends.
    pub fn with_on_suspended(mut self, on_suspended: OnSuspended) -> Self {
        self.on_suspended = on_suspended;
        self
    }

    /// What to do with users missing after the grace.
    pub fn with_on_missing(mut self, on_missing: OnMissing) -> Self {
        self.on_missing = on_missing;
        self
    }

    /// Whether administrators may be suspended or deprovisioned by a sync.
    pub fn with_act_on_admins(mut self, act_on_admins: bool) -> Self {
        self.act_on_admins = act_on_admins;
        self
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            safeguards: Safeguards::default(),
            grace: Grace::default(),
            on_suspended: OnSuspended::Suspend,
            on_missing: OnMissing::Deprovision,
            act_on_admins: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_trip_strictly_above_their_limits() {
        let t = Threshold {
            max_count: 50,
            max_percent: 10.0,
            min_count: 3,
        };
        // Absolute cap.
        assert!(!t.trips(50, 1_000_000));
        assert!(t.trips(51, 1_000_000));
        // Percentage: exactly 10 % does not trip, above does.
        assert!(!t.trips(10, 100));
        assert!(t.trips(11, 100));
        // Below min_count the percentage does not apply.
        assert!(!t.trips(2, 3));
        assert!(t.trips(3, 3));
        assert!(!t.trips(0, 0));
    }

    #[test]
    fn grace_needs_both_runs_and_time() {
        let g = Grace {
            runs: 3,
            seconds: 3600,
        };
        assert!(!g.expired(2, Duration::hours(5)));
        assert!(!g.expired(3, Duration::minutes(59)));
        assert!(g.expired(3, Duration::hours(1)));
        let runs_only = Grace {
            runs: 2,
            seconds: 0,
        };
        assert!(runs_only.expired(2, Duration::zero()));
    }
}
