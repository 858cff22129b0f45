//! Inbound runs: fetch a snapshot from the source, plan it against the store's view, then hold
//! or apply it; and the dry run.

use chrono::{DateTime, Utc};
use dirsync_core::{
    AnyIntegration, DirectorySource, FetchRequest, FetchStats, IntegrationId, ObjectKinds, RuleId,
    RunOutcome, ScopeFilter, SyncRun,
};
use dirsync_store::{Lease, LocalView, Store};

use super::{Outcome, RunContext, hold, record, release_superseded, remote_failure, still_due};
use crate::plan::{Plan, ToDirectory};
use crate::{Error, plan_inbound};

/// Runs one inbound sync of `integration` (for one rule, or everything) and returns its record.
///
/// Under the integration's lease (a second concurrent run is refused with
/// `dirsync_store::Error::Leased`): fetch a complete snapshot (reading the store's view
/// meanwhile), plan, then
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
    ctx.with_lease(integration, async |lease: &Lease| {
        still_due(ctx, integration, rule).await?;
        let started_at = ctx.clock.now();
        let whole = source.readable_kinds();
        let (any, request) = inbound_request(ctx.store, integration, rule, whole).await?;
        // The store's view does not depend on the snapshot: it is read while the fetch waits
        // on the remote (under the lease nothing else writes the integration's data, and the
        // apply is fenced on the version the view was read at anyway).
        let (fetched, view) = tokio::join!(
            source.fetch(&request, ctx.progress),
            ctx.store.view(integration)
        );
        let outcome = match fetched {
            Err(e) => remote_failure(ctx.store, integration, e).await,
            Ok(fetched) => {
                plan_and_apply(
                    ctx,
                    lease,
                    &any,
                    (&fetched.snapshot, &view?),
                    started_at,
                    fetched.stats,
                )
                .await?
            }
        };
        record(ctx, integration, rule, started_at, outcome).await
    })
    .await
}

/// Loads an inbound integration that may sync and what a run of `rule` (or of everything the
/// source can read, `whole`) fetches.
async fn inbound_request(
    store: &dyn Store,
    integration: IntegrationId,
    rule: Option<RuleId>,
    whole: ObjectKinds,
) -> Result<(AnyIntegration, FetchRequest), Error> {
    let any = store.integration(integration).await?;
    if !any.state().can_sync() {
        return Err(Error::NotActive {
            integration,
            state: any.state().to_string(),
        });
    }
    if matches!(any, AnyIntegration::Outbound(_)) {
        return Err(Error::WrongDirection { integration });
    }
    let request = match rule {
        None => FetchRequest::new(whole, ScopeFilter::everything()),
        Some(r) => {
            let rule = any
                .record()
                .rules
                .iter()
                .find(|x| x.id == r)
                .ok_or_else(|| {
                    Error::Source(dirsync_core::Error::InvalidValue {
                        kind: "rule",
                        value: r.to_string(),
                        reason: "no such rule on this integration".to_owned(),
                    })
                })?;
            FetchRequest::new(rule.kinds.clone(), rule.scope.clone())
        }
    };
    Ok((any, request))
}

/// A dry run: fetches and plans exactly as [`sync_inbound`] would, and returns the plan without
/// applying or holding it. It writes nothing (no run record, no lease), so it can run beside a
/// real sync; the plan it shows is what a sync started now would do.
///
/// # Errors
/// The integration is unknown, not active or outbound; the rule is unknown; the fetch failed
/// (nothing is written, and the integration's state is left alone); or planning refused the
/// snapshot.
pub async fn dry_run_inbound(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<Plan<ToDirectory>, Error> {
    let whole = source.readable_kinds();
    let (any, request) = inbound_request(ctx.store, integration, rule, whole).await?;
    let (fetched, view) = tokio::join!(
        source.fetch(&request, ctx.progress),
        ctx.store.view(integration)
    );
    plan_inbound(
        &any,
        &fetched?.snapshot,
        &view?,
        ctx.policy,
        ctx.clock.now(),
    )
}

async fn plan_and_apply(
    ctx: &RunContext<'_>,
    lease: &Lease,
    any: &AnyIntegration,
    (snapshot, view): (&dirsync_core::Snapshot, &LocalView),
    now: DateTime<Utc>,
    stats: FetchStats,
) -> Result<Outcome, Error> {
    let planning = std::time::Instant::now();
    let plan = match plan_inbound(any, snapshot, view, ctx.policy, now) {
        Ok(plan) => plan,
        Err(e) => return Ok(Outcome::failed(e, Some(stats))),
    };
    tracing::debug!(
        operations = plan.changes().ops().len(),
        elapsed_ms = planning.elapsed().as_millis(),
        "planned"
    );
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
        let applying = std::time::Instant::now();
        let applied = ctx.store.apply_fenced(plan.changes(), lease).await;
        tracing::debug!(
            elapsed_ms = applying.elapsed().as_millis(),
            ok = applied.is_ok(),
            "applied"
        );
        match applied {
            Ok(_) => {
                release_superseded(ctx.store, any.id(), None).await?;
                RunOutcome::Succeeded
            }
            // A run that lost its lease stops: another run owns the integration now.
            Err(e @ dirsync_store::Error::LeaseLost { .. }) => return Err(e.into()),
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
