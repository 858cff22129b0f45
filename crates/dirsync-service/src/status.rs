//! What an operator needs to see at a glance, per integration: its state (and why, if failed),
//! its last success and last failure, the plans a safeguard holds, when it runs next, and its
//! push channel when push is on. The
//! same value is the command line's `dirsync status --json` and what `scheduler:run-due`
//! reports on every call, so a failure stays visible until it is fixed.

use chrono::{DateTime, Utc};
use dirsync_core::{
    AnyIntegration, DirectionKind, IntegrationId, IntegrationState, PlanId, PushChannel, RunId,
    RunOutcome, SyncRun,
};
use serde::Serialize;

use crate::{Error, Service};

/// How many of an integration's newest runs are read for its last success and failure.
const RUNS_READ: usize = 200;

/// One run, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RunSummary {
    /// The run.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub run: RunId,
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Why it failed (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A plan a safeguard holds, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct HeldSummary {
    /// The plan's id (what `plan:approve` takes).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub plan: PlanId,
    /// When it was held.
    pub held_at: DateTime<Utc>,
    /// The safeguards it tripped.
    pub reason: String,
}

/// An integration's push notifications, when push is on: its live channel (none until the
/// scheduler opens one), in brief (never the channel's token or its digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PushSummary {
    /// The live channel's id.
    pub channel: Option<String>,
    /// When it expires (it is replaced about 30 minutes before).
    pub expires_at: Option<DateTime<Utc>>,
    /// When its last verified notification arrived.
    pub last_notification: Option<DateTime<Utc>>,
    /// Whether groups and memberships are covered too, by polling the source's activity log
    /// (Google: the Reports API); when not, push covers users only (see `note`).
    pub polls_groups: bool,
    /// The end of the last window of activities read (the activity cursor), once polled.
    pub polled_until: Option<DateTime<Utc>>,
    /// When activities were last polled.
    pub last_poll: Option<DateTime<Utc>>,
    /// Activities applied by polling so far.
    pub activities: u64,
    /// What push does not cover, for people (`push covers users only: …`).
    pub note: Option<String>,
}

/// What an integration whose authorization cannot read activities is told.
pub const USERS_ONLY: &str = "push covers users only: the authorization does not allow reading the activity log (for Google, grant the optional scope https://www.googleapis.com/auth/admin.reports.audit.readonly and reauthorize), so group and membership changes wait for the scheduled sync";

impl PushSummary {
    /// The newest-expiring of `channels` (while one replaces another, both are recorded), and
    /// the activity polling (`cursor`) when `polls`.
    pub(crate) fn of(
        channels: &[PushChannel],
        polls: bool,
        cursor: Option<&dirsync_core::ActivityCursor>,
    ) -> Self {
        let live = channels.iter().max_by_key(|c| c.expires_at);
        Self {
            channel: live.map(|c| c.id.clone()),
            expires_at: live.map(|c| c.expires_at),
            last_notification: channels.iter().filter_map(|c| c.last_notification).max(),
            polls_groups: polls,
            polled_until: cursor.map(|c| c.since),
            last_poll: cursor.map(|c| c.polled_at),
            activities: cursor.map_or(0, |c| c.activities),
            note: (!polls).then(|| USERS_ONLY.to_owned()),
        }
    }
}

impl crate::Service {
    /// `any`'s push summary, when push is on.
    ///
    /// # Errors
    /// A store error.
    pub async fn push_summary(&self, any: &AnyIntegration) -> Result<Option<PushSummary>, Error> {
        if !any.record().push {
            return Ok(None);
        }
        let channels = self.store.push_channels(any.id()).await?;
        let polls = self
            .connect(any, any.settings())
            .ok()
            .and_then(|c| c.push)
            .is_some_and(|s| crate::push::polls(any, s.as_ref()));
        let cursor = self.store.activity_cursor(any.id()).await?;
        Ok(Some(PushSummary::of(&channels, polls, cursor.as_ref())))
    }
}

/// One integration's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct IntegrationStatus {
    /// The integration.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: IntegrationId,
    /// Its title.
    pub title: String,
    /// Inbound or outbound.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub direction: DirectionKind,
    /// Its state (`state`, and `reason` when failed).
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = StateFields))]
    pub state: IntegrationState,
    /// Its newest run that did not fail (succeeded, changed nothing, or was held).
    pub last_success: Option<RunSummary>,
    /// Its newest failed run.
    pub last_failure: Option<RunSummary>,
    /// Whether its newest run failed.
    pub last_run_failed: bool,
    /// The plans waiting for approval.
    pub held_plans: Vec<HeldSummary>,
    /// When the scheduler runs it next (its earliest due rule, a retry after a failure
    /// included); none unless it is active and has a scheduled rule.
    pub next_run: Option<DateTime<Utc>>,
    /// Its push channel, when push is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
}

impl IntegrationStatus {
    /// Whether it needs an operator: it is failed, or its newest run failed.
    pub fn is_failing(&self) -> bool {
        matches!(self.state, IntegrationState::Failed { .. }) || self.last_run_failed
    }

    fn of(any: &AnyIntegration, runs: &[SyncRun], held: Vec<HeldSummary>) -> Self {
        let failed = |r: &SyncRun| match &r.outcome {
            RunOutcome::Failed { reason } => Some(reason.clone()),
            _ => None,
        };
        let last_success = runs
            .iter()
            .find(|r| failed(r).is_none())
            .map(|r| RunSummary {
                run: r.id,
                at: r.finished_at,
                reason: None,
            });
        let last_failure = runs.iter().find_map(|r| {
            failed(r).map(|reason| RunSummary {
                run: r.id,
                at: r.finished_at,
                reason: Some(reason),
            })
        });
        let record = any.record();
        let next_run = if any.state().can_sync() {
            record
                .rules
                .iter()
                .filter_map(|r| r.next_run(&record.schedule))
                .min()
        } else {
            None
        };
        Self {
            id: any.id(),
            title: record.title.clone(),
            direction: any.direction(),
            state: any.state().clone(),
            last_success,
            last_failure,
            last_run_failed: runs.first().and_then(failed).is_some(),
            held_plans: held,
            next_run,
            push: None,
        }
    }
}

/// The schema of an [`IntegrationState`] as [`IntegrationStatus`] flattens it.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct StateFields {
    /// `staged`, `active`, `inactive` or `failed`.
    state: String,
    /// Why it failed.
    reason: Option<String>,
}

/// Every integration's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct StatusReport {
    /// Per integration, oldest first.
    pub integrations: Vec<IntegrationStatus>,
}

impl StatusReport {
    /// How many integrations need an operator ([`IntegrationStatus::is_failing`]).
    pub fn failing(&self) -> usize {
        self.integrations.iter().filter(|i| i.is_failing()).count()
    }

    /// How many plans are held, over all integrations.
    pub fn held(&self) -> usize {
        self.integrations.iter().map(|i| i.held_plans.len()).sum()
    }
}

impl Service {
    /// Every integration's status (see the module documentation).
    ///
    /// # Errors
    /// A store error.
    pub async fn status(&self) -> Result<StatusReport, Error> {
        let mut integrations = Vec::new();
        for any in self.store.integrations().await? {
            let runs = self.store.runs(any.id(), RUNS_READ).await?;
            let held = self
                .store
                .held_plans(any.id())
                .await?
                .into_iter()
                .map(|h| HeldSummary {
                    plan: h.id,
                    held_at: h.held_at,
                    reason: h.reason,
                })
                .collect();
            let mut status = IntegrationStatus::of(&any, &runs, held);
            status.push = self.push_summary(&any).await?;
            integrations.push(status);
        }
        Ok(StatusReport { integrations })
    }
}
