//! Applying one pushed change: plan it through the rules, check the push window, then apply it
//! (version-checked, replanned on a concurrent write) or hold it, and record a run.

use chrono::Duration;
use dirsync_core::{IntegrationId, PlanId, RunOutcome, SyncRun};

use super::{Outcome, RunContext, hold, record};
use crate::push::{PUSH_COUNT, Push, PushWindow, plan_push, removals, window_trip};
use crate::{Error, Plan, ToDirectory};

/// How often a push is replanned when another write moved the integration's version between
/// planning and applying.
const ATTEMPTS: usize = 8;

/// How many recent runs the push window reads (only for a push that removes a user).
const WINDOW_RUNS: usize = 10_000;

/// What became of a pushed change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// Applied; its run.
    Applied(SyncRun),
    /// Nothing to change (a repeated push): nothing written, no run.
    NoChange,
    /// Held by the push window until an approval; its run. The source should retry after
    /// `retry_after`.
    Held {
        /// The run that recorded the hold.
        run: SyncRun,
        /// The held plan.
        plan: PlanId,
        /// When the source should try again.
        retry_after: Duration,
    },
}

/// Applies one change pushed by `integration`'s source (see [`plan_push`]): plans it against
/// the store's current view, holds it when it would take more users away than `window`
/// allows, else applies it in one transaction against the version it was planned on
/// (replanning when another write came first) and records a run whose counts carry
/// `"pushes": 1`. No lease is taken: the version check orders pushes and runs.
///
/// # Errors
/// [`Error::NotActive`] unless the integration is active; the planner's errors
/// ([`Error::Taken`], …); a store error. Nothing is written then.
pub async fn apply_push(
    ctx: &RunContext<'_>,
    window: &PushWindow,
    integration: IntegrationId,
    push: &Push,
) -> Result<PushOutcome, Error> {
    let any = ctx.store.integration(integration).await?;
    if !any.state().can_sync() {
        return Err(Error::NotActive {
            integration,
            state: any.state().to_string(),
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started_at = ctx.clock.now();
        let view = ctx.store.view(integration).await?;
        let plan = plan_push(&any, push, &view, ctx.policy, started_at)?;
        if plan.is_empty() {
            return Ok(PushOutcome::NoChange);
        }
        if removals(&plan) > 0 {
            let recent = ctx.store.runs(integration, WINDOW_RUNS).await?;
            if let Some(trip) = window_trip(window, &recent, &plan, started_at) {
                return held(ctx, plan, trip, window, started_at).await;
            }
        }
        match ctx.store.apply(plan.changes()).await {
            Ok(_) => {
                let run = record(
                    ctx,
                    integration,
                    None,
                    started_at,
                    outcome(&plan, RunOutcome::Succeeded),
                )
                .await?;
                return Ok(PushOutcome::Applied(run));
            }
            Err(dirsync_store::Error::Conflict { .. }) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn outcome(plan: &Plan<ToDirectory>, outcome: RunOutcome) -> Outcome {
    let mut counts = plan.count_names();
    counts.insert(PUSH_COUNT.to_owned(), 1);
    Outcome {
        outcome,
        counts,
        quarantined: plan.report().quarantined.clone(),
        fetch: None,
    }
}

async fn held(
    ctx: &RunContext<'_>,
    plan: Plan<ToDirectory>,
    trip: crate::Trip,
    window: &PushWindow,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<PushOutcome, Error> {
    let plan = plan.with_trips(vec![trip]);
    hold(ctx.store, &plan, started_at).await?;
    let id = plan.id().clone();
    let run = record(
        ctx,
        plan.integration(),
        None,
        started_at,
        outcome(&plan, RunOutcome::Held { plan: id.clone() }),
    )
    .await?;
    Ok(PushOutcome::Held {
        run,
        plan: id,
        retry_after: Duration::minutes(i64::from(window.minutes.max(1))),
    })
}
