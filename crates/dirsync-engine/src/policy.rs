//! What the engine may do: safeguards, grace, and how to treat suspended and missing users.
//!
//! [`Safeguards`] and [`Threshold`] are plain data defined in `dirsync-core` (an integration can
//! carry its own); they are re-exported here with the rest of the policy.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use dirsync_core::{AttributeMapping, IntegrationRecord};
pub use dirsync_core::{Safeguards, Threshold, percent};

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
    /// The directory attributes settled from the integrations' accounts (none by default);
    /// outbound selectors select on them.
    #[serde(default)]
    pub attributes: AttributeMapping,
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

    /// The directory attributes, and where each comes from.
    pub fn with_attributes(mut self, attributes: AttributeMapping) -> Self {
        self.attributes = attributes;
        self
    }

    /// Whether administrators may be suspended or deprovisioned by a sync.
    pub fn with_act_on_admins(mut self, act_on_admins: bool) -> Self {
        self.act_on_admins = act_on_admins;
        self
    }

    /// The thresholds that apply to an integration: its own
    /// ([`IntegrationRecord::safeguards`]), or else this policy's.
    pub fn safeguards_for<'a>(&'a self, integration: &'a IntegrationRecord) -> &'a Safeguards {
        integration.safeguards.as_ref().unwrap_or(&self.safeguards)
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
            attributes: AttributeMapping::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_trip_strictly_above_their_limits() {
        let t = Threshold::new(50, 10.0, 3);
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
