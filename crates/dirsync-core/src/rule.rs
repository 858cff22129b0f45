//! Sync rules: what an integration syncs (its [`ObjectKinds`] in a [`ScopeFilter`]) and when
//! (manually or on the integration's [`Schedule`]), with the retry of failed runs and which
//! rules are due.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use dirsync_core::{due_rules, ObjectKind, ObjectKinds, Schedule, ScopeFilter, SyncRule, TimeOfDay, Trigger};
//!
//! let schedule = Schedule::daily(TimeOfDay::utc(2, 0)?);
//! let created = Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).single().ok_or("time")?;
//! let users = SyncRule::new("users", ObjectKinds::new([ObjectKind::Users])?, ScopeFilter::everything(),
//!                           Trigger::Scheduled, created);
//! let adhoc = SyncRule::new("ad hoc", ObjectKinds::all(), ScopeFilter::everything(), Trigger::Manual, created);
//! let rules = [users, adhoc];
//! let next_morning = Utc.with_ymd_and_hms(2026, 5, 11, 2, 0, 0).single().ok_or("time")?;
//! let due = due_rules(&schedule, &rules, next_morning);
//! assert_eq!(due.len(), 1);
//! assert_eq!(due[0].name, "users");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;
use crate::{
    GroupAssignment, GroupProvisioning, ObjectKind, ObjectKinds, RuleId, ScopeFilter,
    UserProvisioning,
};

/// When a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Trigger {
    /// Only when started by hand; never by the schedule.
    Manual,
    /// On the integration's [`Schedule`] (and by hand).
    Scheduled,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Manual => "manual",
            Self::Scheduled => "scheduled",
        })
    }
}

/// One sync rule of an integration: which kinds of object, in which scope, triggered how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRule {
    /// The rule's identity.
    pub id: RuleId,
    /// A name for humans.
    pub name: String,
    /// What it syncs.
    pub kinds: ObjectKinds,
    /// Which part of the directory.
    pub scope: ScopeFilter,
    /// Whether the schedule runs it.
    pub trigger: Trigger,
    /// When it was created; a scheduled rule's first run is the first occurrence after this.
    pub created_at: DateTime<Utc>,
    /// When it last ran (manually or on schedule), if ever.
    #[serde(default)]
    pub last_run_at: Option<DateTime<Utc>>,
    /// How many of its runs in a row failed (0 after a run that did not fail): the scheduler
    /// retries a failed rule after [`RETRY_BACKOFF_SECONDS`] instead of a whole interval.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_runs: u32,
    /// For outbound integrations: the managed group and who should be in it. Every outbound
    /// rule has one; inbound rules never do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<GroupAssignment>,
    /// For outbound integrations: the directory users this rule provisions as remote accounts
    /// (instead of an [`assignment`](Self::assignment)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision_users: Option<UserProvisioning>,
    /// For outbound integrations: the directory groups this rule provisions as remote groups,
    /// with their members (instead of an [`assignment`](Self::assignment)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision_groups: Option<GroupProvisioning>,
}

impl SyncRule {
    /// A new rule with a random id that has never run.
    pub fn new(
        name: impl Into<String>,
        kinds: ObjectKinds,
        scope: ScopeFilter,
        trigger: Trigger,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: RuleId::random(),
            name: name.into(),
            kinds,
            scope,
            trigger,
            created_at,
            last_run_at: None,
            failed_runs: 0,
            assignment: None,
            provision_users: None,
            provision_groups: None,
        }
    }

    /// A new outbound rule provisioning the directory users `provisioning` selects as remote
    /// accounts (with their org units).
    pub fn provisioning_users(
        name: impl Into<String>,
        provisioning: UserProvisioning,
        trigger: Trigger,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            provision_users: Some(provisioning),
            ..Self::new(
                name,
                ObjectKinds::new([ObjectKind::Users, ObjectKind::OrgUnits])
                    .unwrap_or_else(|_| ObjectKinds::only(ObjectKind::Users)),
                ScopeFilter::everything(),
                trigger,
                created_at,
            )
        }
    }

    /// A new outbound rule provisioning the directory groups `provisioning` selects as remote
    /// groups, with their memberships.
    pub fn provisioning_groups(
        name: impl Into<String>,
        provisioning: GroupProvisioning,
        trigger: Trigger,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            provision_groups: Some(provisioning),
            ..Self::new(
                name,
                ObjectKinds::new([ObjectKind::Groups, ObjectKind::Memberships])
                    .unwrap_or_else(|_| ObjectKinds::only(ObjectKind::Groups)),
                ScopeFilter::everything(),
                trigger,
                created_at,
            )
        }
    }

    /// A new outbound rule managing the membership of `assignment.group`: it covers that
    /// group's memberships only.
    pub fn assigning(
        name: impl Into<String>,
        assignment: GroupAssignment,
        trigger: Trigger,
        created_at: DateTime<Utc>,
    ) -> Self {
        let scope = ScopeFilter {
            org_unit: None,
            groups: Some(BTreeSet::from([assignment.group.clone()])),
        };
        Self {
            assignment: Some(assignment),
            ..Self::new(
                name,
                ObjectKinds::only(ObjectKind::Memberships),
                scope,
                trigger,
                created_at,
            )
        }
    }

    /// When `schedule` next runs this rule: the first occurrence strictly after its last run
    /// (or its creation, if it never ran) — or, after a failed run, its retry (see
    /// [`retry_delay`]) if that comes first. `None` for a manual rule or a manual schedule.
    pub fn next_run(&self, schedule: &Schedule) -> Option<DateTime<Utc>> {
        match self.trigger {
            Trigger::Manual => None,
            Trigger::Scheduled => {
                let next = schedule.next_after(self.last_run_at.unwrap_or(self.created_at))?;
                let retry = retry_delay(self.failed_runs)
                    .zip(self.last_run_at)
                    .map(|(delay, last)| last + delay);
                Some(retry.map_or(next, |retry| retry.min(next)))
            }
        }
    }

    /// Whether `schedule` should run this rule at `now`: it is scheduled and an occurrence has
    /// come (at or before `now`) since its last run, or since its creation if it never ran.
    /// Several missed occurrences still mean one run. Pure: `now` is the caller's clock.
    pub fn is_due(&self, schedule: &Schedule, now: DateTime<Utc>) -> bool {
        self.next_run(schedule).is_some_and(|next| next <= now)
    }
}

/// How long after a failed scheduled run its rule is retried, by how many runs in a row
/// failed: 5 minutes after the first, 15 after the second, an hour after every further one
/// (never later than the schedule's next occurrence).
pub const RETRY_BACKOFF_SECONDS: [i64; 3] = [5 * 60, 15 * 60, 60 * 60];

/// The retry delay after `failed_runs` failed runs in a row; `None` when the last run did not
/// fail.
pub fn retry_delay(failed_runs: u32) -> Option<chrono::Duration> {
    let last = RETRY_BACKOFF_SECONDS.len() - 1;
    let index = usize::try_from(failed_runs.checked_sub(1)?).map_or(last, |i| i.min(last));
    RETRY_BACKOFF_SECONDS
        .get(index)
        .map(|s| chrono::Duration::seconds(*s))
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The scheduled rules of `rules` that `schedule` should run at `now`, in the order given.
///
/// Never a [`Trigger::Manual`] rule, and nothing at all when `schedule` is
/// [`Schedule::Manual`]. See [`SyncRule::is_due`].
pub fn due_rules<'a>(
    schedule: &Schedule,
    rules: &'a [SyncRule],
    now: DateTime<Utc>,
) -> Vec<&'a SyncRule> {
    if schedule.is_manual() {
        return Vec::new();
    }
    rules
        .iter()
        .filter(|rule| rule.trigger == Trigger::Scheduled && rule.is_due(schedule, now))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::OrgUnitPath;
    use crate::schedule::{DayOfMonth, TimeOfDay};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn daily_0200() -> Schedule {
        Schedule::daily(TimeOfDay::utc(2, 0).unwrap())
    }

    fn rule(name: &str, trigger: Trigger, created_at: &str, last_run_at: Option<&str>) -> SyncRule {
        SyncRule {
            last_run_at: last_run_at.map(utc),
            ..SyncRule::new(
                name,
                ObjectKinds::all(),
                ScopeFilter::everything(),
                trigger,
                utc(created_at),
            )
        }
    }

    #[test]
    fn sync_rule_serde_round_trips() {
        let mut r = rule(
            "users",
            Trigger::Scheduled,
            "2026-05-10T12:00:00Z",
            Some("2026-05-11T02:00:00Z"),
        );
        r.scope.org_unit = Some(OrgUnitPath::new("/Sales").unwrap());
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<SyncRule>(&json).unwrap(), r);
        let value = serde_json::to_value(&r).unwrap();
        assert_eq!(value["trigger"], "scheduled");
        assert_eq!(
            value["kinds"],
            serde_json::json!(["org_units", "users", "groups", "memberships"])
        );
        // last_run_at may be absent; kinds may not be empty.
        let mut v = value.clone();
        v.as_object_mut().unwrap().remove("last_run_at");
        assert_eq!(
            serde_json::from_value::<SyncRule>(v).unwrap().last_run_at,
            None
        );
        let mut v = value;
        v["kinds"] = serde_json::json!([]);
        assert!(serde_json::from_value::<SyncRule>(v).is_err());
        assert!(serde_json::from_str::<Trigger>("\"hourly\"").is_err());
        assert_eq!(Trigger::Manual.to_string(), "manual");
    }

    #[test]
    fn manual_schedule_runs_nothing() {
        let rules = [
            rule("a", Trigger::Scheduled, "2020-01-01T00:00:00Z", None),
            rule("b", Trigger::Manual, "2020-01-01T00:00:00Z", None),
        ];
        assert!(due_rules(&Schedule::Manual, &rules, utc("2030-01-01T00:00:00Z")).is_empty());
        assert!(!rules[0].is_due(&Schedule::Manual, utc("2030-01-01T00:00:00Z")));
        assert_eq!(rules[0].next_run(&Schedule::Manual), None);
    }

    #[test]
    fn manual_rules_are_never_due() {
        let r = rule("m", Trigger::Manual, "2020-01-01T00:00:00Z", None);
        assert!(!r.is_due(&daily_0200(), utc("2030-01-01T00:00:00Z")));
        assert_eq!(r.next_run(&daily_0200()), None);
        assert!(
            due_rules(
                &daily_0200(),
                std::slice::from_ref(&r),
                utc("2030-01-01T00:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn a_rule_created_just_after_the_time_waits_for_the_next_occurrence() {
        let s = daily_0200();
        let r = rule("late", Trigger::Scheduled, "2026-05-10T02:00:30Z", None);
        for (now, due) in [
            ("2026-05-10T02:00:30Z", false),
            ("2026-05-10T23:59:59Z", false),
            ("2026-05-11T01:59:59Z", false),
            ("2026-05-11T02:00:00Z", true),
            ("2026-05-20T00:00:00Z", true),
        ] {
            assert_eq!(r.is_due(&s, utc(now)), due, "now {now}");
        }
        // Created exactly at the time: that occurrence is not after creation, so it is skipped.
        let exact = rule("exact", Trigger::Scheduled, "2026-05-10T02:00:00Z", None);
        assert!(!exact.is_due(&s, utc("2026-05-10T12:00:00Z")));
        assert_eq!(exact.next_run(&s), Some(utc("2026-05-11T02:00:00Z")));
    }

    #[test]
    fn a_rule_that_ran_after_the_latest_occurrence_is_not_due() {
        let s = daily_0200();
        let ran_after = rule(
            "r",
            Trigger::Scheduled,
            "2026-05-01T00:00:00Z",
            Some("2026-05-10T02:05:00Z"),
        );
        assert!(!ran_after.is_due(&s, utc("2026-05-10T23:00:00Z")));
        assert!(ran_after.is_due(&s, utc("2026-05-11T02:00:00Z")));
        let ran_before = rule(
            "r",
            Trigger::Scheduled,
            "2026-05-01T00:00:00Z",
            Some("2026-05-10T01:00:00Z"),
        );
        assert!(ran_before.is_due(&s, utc("2026-05-10T03:00:00Z")));
        // A last run reported in the future (clock skew) is not due either.
        let future = rule(
            "f",
            Trigger::Scheduled,
            "2026-05-01T00:00:00Z",
            Some("2026-06-01T00:00:00Z"),
        );
        assert!(!future.is_due(&s, utc("2026-05-15T00:00:00Z")));
        // Missing many occurrences still means due (once).
        let stale = rule(
            "s",
            Trigger::Scheduled,
            "2026-01-01T00:00:00Z",
            Some("2026-01-02T00:00:00Z"),
        );
        assert!(stale.is_due(
            &Schedule::first_of_month(TimeOfDay::utc(2, 0).unwrap()),
            utc("2026-05-10T00:00:00Z")
        ));
    }

    #[test]
    fn a_failed_rule_is_retried_with_backoff_before_its_next_occurrence() {
        let daily = daily_0200();
        let ran = utc("2026-01-10T02:00:00Z");
        let mut r = rule("r", Trigger::Scheduled, "2026-01-01T00:00:00Z", None);
        r.last_run_at = Some(ran);
        let next_day = utc("2026-01-11T02:00:00Z");
        assert_eq!(
            r.next_run(&daily),
            Some(next_day),
            "no failure: the schedule"
        );
        for (failed, after) in [(1, 5), (2, 15), (3, 60), (4, 60), (u32::MAX, 60)] {
            r.failed_runs = failed;
            let retry = ran + Duration::minutes(after);
            assert_eq!(r.next_run(&daily), Some(retry), "{failed} failures");
            assert!(!r.is_due(&daily, retry - Duration::seconds(1)));
            assert!(r.is_due(&daily, retry));
        }
        // Never later than the schedule's next occurrence: a failed run at 01:30 is retried
        // at the 02:00 occurrence, not at 02:30.
        r.last_run_at = Some(utc("2026-01-10T01:30:00Z"));
        r.failed_runs = 3;
        assert_eq!(r.next_run(&daily), Some(utc("2026-01-10T02:00:00Z")));
        // A manual rule is never retried by the scheduler.
        r.trigger = Trigger::Manual;
        assert_eq!(r.next_run(&daily), None);
        // The count persists in the rule's JSON, and is absent while zero.
        let mut ok = rule("r", Trigger::Scheduled, "2026-01-01T00:00:00Z", None);
        assert!(!serde_json::to_string(&ok).unwrap().contains("failed_runs"));
        ok.failed_runs = 2;
        let back: SyncRule = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
        assert_eq!(back.failed_runs, 2);
    }

    #[test]
    fn due_rules_keeps_the_given_order_and_only_due_scheduled_rules() {
        let s = Schedule::every_monday(TimeOfDay::utc(2, 0).unwrap());
        // Monday 8 June 2026, 02:00 UTC.
        let now = utc("2026-06-08T02:00:00Z");
        let rules = [
            rule(
                "z-due",
                Trigger::Scheduled,
                "2026-06-01T00:00:00Z",
                Some("2026-06-01T02:00:00Z"),
            ),
            rule("manual", Trigger::Manual, "2026-01-01T00:00:00Z", None),
            rule(
                "ran-today",
                Trigger::Scheduled,
                "2026-01-01T00:00:00Z",
                Some("2026-06-08T02:00:00Z"),
            ),
            rule("a-due", Trigger::Scheduled, "2026-06-07T00:00:00Z", None),
            rule("new", Trigger::Scheduled, "2026-06-08T02:00:00Z", None),
        ];
        let names: Vec<&str> = due_rules(&s, &rules, now)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["z-due", "a-due"]);
    }

    fn any_rule() -> impl Strategy<Value = SyncRule> {
        let base = utc("2026-01-01T00:00:00Z");
        (
            any::<bool>(),
            0i64..40_000_000,
            proptest::option::of(0i64..40_000_000),
        )
            .prop_map(move |(scheduled, created, ran)| {
                let trigger = if scheduled {
                    Trigger::Scheduled
                } else {
                    Trigger::Manual
                };
                let created_at = base + Duration::seconds(created);
                SyncRule {
                    last_run_at: ran.map(|r| created_at + Duration::seconds(r)),
                    ..SyncRule::new(
                        "r",
                        ObjectKinds::all(),
                        ScopeFilter::everything(),
                        trigger,
                        created_at,
                    )
                }
            })
    }

    fn any_schedule() -> impl Strategy<Value = Schedule> {
        (0u8..4, 0u32..24, 0u32..60, 1u8..=31, 0u8..7).prop_map(|(kind, h, m, d, w)| {
            let at = TimeOfDay::new(h, m, chrono_tz::Europe::Berlin).unwrap();
            match kind {
                0 => Schedule::Manual,
                1 => Schedule::daily(at),
                2 => Schedule::weekly(chrono::Weekday::try_from(w).unwrap(), at),
                _ => Schedule::monthly(DayOfMonth::new(d).unwrap(), at),
            }
        })
    }

    proptest! {
        #[test]
        fn due_rules_never_returns_manual_rules(
            s in any_schedule(),
            rules in proptest::collection::vec(any_rule(), 0..20),
            now in 0i64..120_000_000,
        ) {
            let now = utc("2026-01-01T00:00:00Z") + Duration::seconds(now);
            let due = due_rules(&s, &rules, now);
            prop_assert!(due.iter().all(|r| r.trigger == Trigger::Scheduled));
            if s.is_manual() {
                prop_assert!(due.is_empty());
            }
            // Exactly the due rules, in order.
            let expected: Vec<&SyncRule> = rules.iter().filter(|r| r.is_due(&s, now)).collect();
            prop_assert_eq!(due, expected);
        }
    }
}
