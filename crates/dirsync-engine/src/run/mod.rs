//! Running a sync: the only async part of the engine. It fetches, plans, then holds or applies,
//! and records a [`SyncRun`] for every run. It decides nothing itself: the planner and the
//! policy do.

mod approve;
mod inbound;
mod outbound;
mod push;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use dirsync_core::{
    FetchProgress, FetchStats, HeldPlan, IntegrationId, PlanId, QuarantinedRecord, RuleId, RunId,
    RunOutcome, SyncRun,
};
use dirsync_store::Store;

use crate::plan::{Plan, ToDirectory, Trip};
use crate::{Error, Policy};

pub use approve::{approve, approve_outbound};
pub use inbound::{dry_run_inbound, sync_inbound};
pub use outbound::{dry_run_outbound, sync_outbound};
pub use push::{PushOutcome, apply_push};

/// Where the current instant comes from: the engine never reads the clock itself.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

impl<F: Fn() -> DateTime<Utc> + Send + Sync> Clock for F {
    fn now(&self) -> DateTime<Utc> {
        self()
    }
}

/// What a run needs besides the integration: the store, the policy, a clock, who runs it,
/// and where progress goes.
pub struct RunContext<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// The policy.
    pub policy: &'a Policy,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// This runner's name in the integration's lease (e.g. `host:pid`). Each run holds the
    /// lease under this name plus a suffix of its own, so two runs of one integration never
    /// share a lease, even when started by the same runner.
    pub holder: String,
    /// A lease's time to live: a run renews it every third of this while it works, so a run
    /// that crashed frees its integration after at most this long.
    pub lease: Duration,
    /// Where fetch progress goes.
    pub progress: &'a dyn FetchProgress,
    /// The id the run's record gets (and its lease holder's suffix). `None`: a fresh id for
    /// every run made with this context. Give one when the caller must know the id before the
    /// run ends, as an API that answers "accepted, run R" at once does; a context with an id is
    /// for one run.
    pub run_id: Option<RunId>,
    /// A scheduled run's instant: the run's rule must still be due then, checked under the
    /// integration's lease (where the previous run recorded it), so that of several schedulers
    /// sharing a store that all found the rule due, one runs it and the others get
    /// [`Error::NotDue`]. `None` (manual runs, "run now"): no check.
    pub due_at: Option<DateTime<Utc>>,
}

struct Outcome {
    outcome: RunOutcome,
    counts: BTreeMap<String, u64>,
    quarantined: Vec<QuarantinedRecord>,
    fetch: Option<FetchStats>,
}

impl Outcome {
    fn failed(reason: impl ToString, fetch: Option<FetchStats>) -> Self {
        Self {
            outcome: RunOutcome::Failed {
                reason: reason.to_string(),
            },
            counts: BTreeMap::new(),
            quarantined: Vec::new(),
            fetch,
        }
    }
}

/// Releases an integration's held plans other than `keep`: a newer plan (held or applied)
/// supersedes them, and they could never apply again (their base version is gone).
async fn release_superseded(
    store: &dyn Store,
    integration: IntegrationId,
    keep: Option<&PlanId>,
) -> Result<(), Error> {
    for old in store.held_plans(integration).await? {
        if Some(&old.id) != keep {
            store.release_plan(&old.id).await?;
        }
    }
    Ok(())
}

/// Holds a plan, releasing the integration's older held plans (this one supersedes them).
async fn hold(
    store: &dyn Store,
    plan: &Plan<ToDirectory>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    hold_plan_value(
        store,
        plan.integration(),
        plan.id(),
        plan.trips(),
        plan.to_json()?,
        now,
    )
    .await
}

/// Holds a plan of either direction by its id, trips and JSON form.
async fn hold_plan_value(
    store: &dyn Store,
    integration: IntegrationId,
    id: &PlanId,
    trips: &[Trip],
    plan: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    release_superseded(store, integration, Some(id)).await?;
    let reason = trips
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    store
        .hold_plan(&HeldPlan {
            id: id.clone(),
            integration,
            held_at: now,
            reason,
            plan,
        })
        .await?;
    Ok(())
}

/// [`Error::NotDue`] when `ctx` is a scheduled run (see [`RunContext::due_at`]) whose rule
/// is no longer due. Called under the integration's lease.
async fn still_due(
    ctx: &RunContext<'_>,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<(), Error> {
    let (Some(at), Some(rule)) = (ctx.due_at, rule) else {
        return Ok(());
    };
    let any = ctx.store.integration(integration).await?;
    if any.due_rules(at).iter().any(|r| r.id == rule) {
        Ok(())
    } else {
        Err(Error::NotDue { integration, rule })
    }
}

/// Records a run: when its rule ran (the anchor of its next scheduled run) and its record.
async fn record(
    ctx: &RunContext<'_>,
    integration: IntegrationId,
    rule: Option<RuleId>,
    started_at: DateTime<Utc>,
    outcome: Outcome,
) -> Result<SyncRun, Error> {
    if let Some(rule) = rule {
        let failed = matches!(outcome.outcome, RunOutcome::Failed { .. });
        record_rule_run(ctx.store, integration, rule, started_at, failed).await;
    }
    let run = SyncRun {
        id: ctx.run_id.unwrap_or_else(RunId::random),
        integration,
        rule,
        started_at,
        finished_at: ctx.clock.now(),
        outcome: outcome.outcome,
        counts: outcome.counts,
        quarantined: outcome.quarantined,
        fetch: outcome.fetch,
    };
    ctx.store.record_run(&run).await?;
    Ok(run)
}

/// A remote call failed: the run fails with its reason, and a configuration error (a revoked
/// authorization, a withdrawn scope) also fails the integration until it is reauthorized.
async fn remote_failure(
    store: &dyn Store,
    integration: IntegrationId,
    e: dirsync_core::Error,
) -> Outcome {
    if matches!(e, dirsync_core::Error::Access(_)) {
        fail_integration(store, integration, &e.to_string()).await;
    }
    Outcome::failed(e, None)
}

/// Moves an integration to `Failed` (a configuration error such as a revoked authorization).
async fn fail_integration(store: &dyn Store, id: IntegrationId, reason: &str) {
    let result = async {
        let mut any = store.integration(id).await?;
        if any.fail(reason).is_ok() {
            store.save_integration(&any).await?;
        }
        Ok::<(), dirsync_store::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(integration = %id, error = %e, "could not mark the integration failed");
    }
}

/// Records when a rule ran (the anchor of its next scheduled run) and whether it failed.
async fn record_rule_run(
    store: &dyn Store,
    id: IntegrationId,
    rule: RuleId,
    at: DateTime<Utc>,
    failed: bool,
) {
    let result = async {
        let mut any = store.integration(id).await?;
        if any.record_rule_run(rule, at, failed).is_ok() {
            store.save_integration(&any).await?;
        }
        Ok::<(), dirsync_store::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(integration = %id, %rule, error = %e, "could not record the rule's run");
    }
}
