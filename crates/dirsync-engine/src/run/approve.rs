//! Approving a held plan of either direction: applied exactly as it was held, if the store is
//! still at the version it was planned on.

use dirsync_core::{DirectoryTarget, HeldPlan, PlanId, RunOutcome, SyncRun};
use dirsync_store::Lease;

use super::{Outcome, RunContext, record};
use crate::Error;
use crate::plan::{Destination, Plan, ToDirectory, ToRemote};

use super::outbound::{apply_remote, supported_by};

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
    ctx.with_lease(held.integration, async |lease: &Lease| {
        let started_at = ctx.clock.now();
        let plan: Plan<ToDirectory> = approvable(ctx, id, &held).await?;
        ctx.store.apply_fenced(plan.changes(), lease).await?;
        ctx.store.release_plan(id).await?;
        let outcome = Outcome {
            outcome: RunOutcome::Succeeded,
            counts: plan.count_names(),
            quarantined: plan.report().quarantined.clone(),
            fetch: None,
        };
        record(ctx, plan.integration(), None, started_at, outcome).await
    })
    .await
}

/// The held plan, if it may still be applied: its content hashes to its id and belongs to the
/// integration it was held for, and the store is still at the version it was planned on.
async fn approvable<D: Destination>(
    ctx: &RunContext<'_>,
    id: &PlanId,
    held: &HeldPlan,
) -> Result<Plan<D>, Error> {
    let plan: Plan<D> = serde_json::from_value(held.plan.clone())?;
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
    Ok(plan)
}

/// Applies a held outbound plan, exactly as it was held, through `target`, if the ownership
/// records are still at the version it was planned on. Records the run.
///
/// # Errors
/// As [`approve`]; [`Error::UnsupportedOperations`] (nothing applied, the plan stays held) when
/// it uses an operation `target` does not support.
pub async fn approve_outbound(
    ctx: &RunContext<'_>,
    target: &dyn DirectoryTarget,
    id: &PlanId,
) -> Result<SyncRun, Error> {
    let held = ctx
        .store
        .held_plan(id)
        .await?
        .ok_or_else(|| Error::NoHeldPlan { plan: id.clone() })?;
    ctx.with_lease(held.integration, async |lease: &Lease| {
        let started_at = ctx.clock.now();
        let plan: Plan<ToRemote> = approvable(ctx, id, &held).await?;
        supported_by(target, &plan)?;
        let (outcome, counts, writes) =
            apply_remote(ctx, lease, target, &plan, Vec::new(), started_at).await?;
        ctx.store.release_plan(id).await?;
        let outcome = Outcome {
            outcome,
            counts,
            quarantined: plan.report().quarantined.clone(),
            fetch: Some(writes),
        };
        record(ctx, plan.integration(), None, started_at, outcome).await
    })
    .await
}
