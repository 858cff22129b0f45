//! Running a sync: the only async part of the engine. It fetches, plans, then holds or applies,
//! and records a [`SyncRun`] for every run. It decides nothing itself: the planner and the
//! policy do.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use directory_core::{
    AnyIntegration, DirectorySource, FetchProgress, FetchRequest, FetchStats, HeldPlan,
    IntegrationId, ObjectKinds, PlanId, QuarantinedRecord, RuleId, RunId, RunOutcome, ScopeFilter,
    SyncRun,
};
use store_traits::{Lease, Store};

use crate::plan::{Plan, ToDirectory};
use crate::{Error, Policy, plan_inbound};

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
    /// How long a lease lasts before another runner may take over.
    pub lease: Duration,
    /// Where fetch progress goes.
    pub progress: &'a dyn FetchProgress,
}

impl RunContext<'_> {
    async fn with_lease<T>(
        &self,
        integration: IntegrationId,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let now = self.clock.now();
        // A holder the store has seen renews its lease: a name per run, so that a second run
        // started by the same runner is refused instead of sharing (and releasing) the lease.
        let holder = format!("{}#{}", self.holder, RunId::random());
        let lease: Lease = self
            .store
            .acquire_lease(integration, &holder, now + self.lease, now)
            .await?;
        let result = work.await;
        if let Err(e) = self.store.release_lease(&lease).await {
            tracing::warn!(%integration, error = %e, "releasing the sync lease failed; it expires on its own");
        }
        result
    }
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

/// Runs one inbound sync of `integration` (for one rule, or everything) and returns its record.
///
/// Under the integration's lease (a second concurrent run is refused with
/// `store_traits::Error::Leased`): fetch a complete snapshot, plan, then
/// - nothing to do → outcome `NoChange`, nothing written;
/// - a safeguard trips → the plan is held (replacing older held plans of the integration),
///   outcome `Held { plan }`, nothing applied;
/// - otherwise → applied in one transaction against the version it was planned on
///   (`Succeeded`; older held plans are released, as they can never apply any more), or
///   nothing at all (`Failed`).
///
/// A failed fetch or plan is recorded as `Failed` with its reason, and nothing is written; an
/// authorization failure also moves the integration to `Failed` until it is reauthorized.
///
/// # Errors
/// Only when no run could be recorded: the lease is taken, the integration is unknown or not
/// active, or the store fails to record.
pub async fn sync_inbound(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<SyncRun, Error> {
    ctx.with_lease(integration, async {
        let started_at = ctx.clock.now();
        let any = ctx.store.integration(integration).await?;
        if !any.state().can_sync() {
            return Err(Error::NotActive {
                integration,
                state: any.state().to_string(),
            });
        }
        if matches!(any, AnyIntegration::Outbound(_)) {
            return Err(Error::WrongDirection { integration });
        }
        let request = match rule.and_then(|r| any.record().rules.iter().find(|x| x.id == r)) {
            Some(r) => FetchRequest {
                kinds: r.kinds.clone(),
                filter: r.scope.clone(),
            },
            None => FetchRequest {
                kinds: ObjectKinds::all(),
                filter: ScopeFilter::everything(),
            },
        };
        let outcome = match source.fetch(&request, ctx.progress).await {
            Err(e) => {
                if matches!(
                    e,
                    directory_core::Error::Unauthorized { .. }
                        | directory_core::Error::MissingScopes { .. }
                ) {
                    fail_integration(ctx.store, integration, &e.to_string()).await;
                }
                Outcome::failed(e, None)
            }
            Ok(fetched) => {
                plan_and_apply(ctx, &any, &fetched.snapshot, started_at, fetched.stats).await?
            }
        };
        if let Some(rule) = rule {
            record_rule_run(ctx.store, integration, rule, started_at).await;
        }
        let run = SyncRun {
            id: RunId::random(),
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
    })
    .await
}

async fn plan_and_apply(
    ctx: &RunContext<'_>,
    any: &AnyIntegration,
    snapshot: &directory_core::Snapshot,
    now: DateTime<Utc>,
    stats: FetchStats,
) -> Result<Outcome, Error> {
    let view = ctx.store.view(any.id()).await?;
    let plan = match plan_inbound(any, snapshot, &view, ctx.policy, now) {
        Ok(plan) => plan,
        Err(e) => return Ok(Outcome::failed(e, Some(stats))),
    };
    let counts = plan.count_names();
    let quarantined = plan.report().quarantined.clone();
    let outcome = if plan.is_empty() {
        RunOutcome::NoChange
    } else if plan.is_held() {
        hold(ctx.store, &plan, now).await?;
        RunOutcome::Held {
            plan: plan.id().clone(),
        }
    } else {
        match ctx.store.apply(plan.changes()).await {
            Ok(_) => {
                release_superseded(ctx.store, any.id(), None).await?;
                RunOutcome::Succeeded
            }
            Err(e) => RunOutcome::Failed {
                reason: e.to_string(),
            },
        }
    };
    Ok(Outcome {
        outcome,
        counts,
        quarantined,
        fetch: Some(stats),
    })
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
    release_superseded(store, plan.integration(), Some(plan.id())).await?;
    let reason = plan
        .trips()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    store
        .hold_plan(&HeldPlan {
            id: plan.id().clone(),
            integration: plan.integration(),
            held_at: now,
            reason,
            plan: plan.to_json()?,
        })
        .await?;
    Ok(())
}

/// Applies the held plan `id`, exactly as it was held, if the store is still at the version it
/// was planned on. Records the run.
///
/// # Errors
/// [`Error::NoHeldPlan`], [`Error::TamperedPlan`] (its content does not hash to its id),
/// [`Error::StalePlan`] (the store moved on: run the sync again), or a store error.
pub async fn approve(ctx: &RunContext<'_>, id: &PlanId) -> Result<SyncRun, Error> {
    let held = ctx
        .store
        .held_plan(id)
        .await?
        .ok_or_else(|| Error::NoHeldPlan { plan: id.clone() })?;
    ctx.with_lease(held.integration, async {
        let started_at = ctx.clock.now();
        let plan: Plan<ToDirectory> = serde_json::from_value(held.plan.clone())?;
        if plan.id() != id || !plan.verify() || plan.integration() != held.integration {
            return Err(Error::TamperedPlan { plan: id.clone() });
        }
        let current = ctx.store.version(plan.integration()).await?;
        if current != plan.based_on() {
            return Err(Error::StalePlan {
                plan: id.clone(),
                planned: plan.based_on(),
                current,
            });
        }
        ctx.store.apply(plan.changes()).await?;
        ctx.store.release_plan(id).await?;
        let run = SyncRun {
            id: RunId::random(),
            integration: plan.integration(),
            rule: None,
            started_at,
            finished_at: ctx.clock.now(),
            outcome: RunOutcome::Succeeded,
            counts: plan.count_names(),
            quarantined: plan.report().quarantined.clone(),
            fetch: None,
        };
        ctx.store.record_run(&run).await?;
        Ok(run)
    })
    .await
}

/// Moves an integration to `Failed` (a configuration error such as a revoked authorization).
async fn fail_integration(store: &dyn Store, id: IntegrationId, reason: &str) {
    let result = async {
        let mut any = store.integration(id).await?;
        let failed = match &mut any {
            AnyIntegration::Primary(i) => i.fail(reason),
            AnyIntegration::Inbound(i) => i.fail(reason),
            AnyIntegration::Outbound(i) => i.fail(reason),
        };
        if failed.is_ok() {
            store.save_integration(&any).await?;
        }
        Ok::<(), store_traits::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(integration = %id, error = %e, "could not mark the integration failed");
    }
}

/// Records when a rule ran (the anchor of its next scheduled run).
async fn record_rule_run(store: &dyn Store, id: IntegrationId, rule: RuleId, at: DateTime<Utc>) {
    let result = async {
        let mut any = store.integration(id).await?;
        let recorded = match &mut any {
            AnyIntegration::Primary(i) => i.record_rule_run(rule, at),
            AnyIntegration::Inbound(i) => i.record_rule_run(rule, at),
            AnyIntegration::Outbound(i) => i.record_rule_run(rule, at),
        };
        if recorded.is_ok() {
            store.save_integration(&any).await?;
        }
        Ok::<(), store_traits::Error>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(integration = %id, %rule, error = %e, "could not record the rule's run");
    }
}
