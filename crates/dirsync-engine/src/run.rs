//! Running a sync: the only async part of the engine. It fetches, plans, then holds or applies,
//! and records a [`SyncRun`] for every run. It decides nothing itself: the planner and the
//! policy do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use dirsync_core::{
    AnyIntegration, DirectionKind, DirectorySource, DirectoryTarget, Email, ExternalId,
    FetchProgress, FetchRequest, FetchStats, GroupAssignment, HeldPlan, Integration, IntegrationId,
    ObjectKind, ObjectKinds, Outbound, OwnedMembership, OwnershipChange, PlanId, QuarantinedRecord,
    RemoteOp, RemoteOpOutcome, RuleId, RunId, RunOutcome, ScopeFilter, Secondary, SyncRun,
};
use dirsync_store::{Lease, Store};

use crate::outbound::{DirectoryFacts, OutboundState, plan_outbound, stale_ownership};
use crate::plan::{Destination, OpKind, Plan, ToDirectory, ToRemote, Trip};
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
/// `dirsync_store::Error::Leased`): fetch a complete snapshot, plan, then
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
        let started_at = ctx.clock.now();
        let whole = source.readable_kinds();
        let (any, request) = inbound_request(ctx.store, integration, rule, whole).await?;
        let outcome = match source.fetch(&request, ctx.progress).await {
            Err(e) => remote_failure(ctx.store, integration, e).await,
            Ok(fetched) => {
                plan_and_apply(
                    ctx,
                    lease,
                    &any,
                    &fetched.snapshot,
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
    let fetched = source.fetch(&request, ctx.progress).await?;
    let view = ctx.store.view(integration).await?;
    plan_inbound(&any, &fetched.snapshot, &view, ctx.policy, ctx.clock.now())
}

async fn plan_and_apply(
    ctx: &RunContext<'_>,
    lease: &Lease,
    any: &AnyIntegration,
    snapshot: &dirsync_core::Snapshot,
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
        match ctx.store.apply_fenced(plan.changes(), lease).await {
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

/// Loads an outbound integration that may sync and the assignments a run of `rule` (or of all
/// its rules) covers.
async fn outbound_assignments(
    store: &dyn Store,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<(Integration<Outbound, Secondary>, Vec<GroupAssignment>), Error> {
    let any = store.integration(integration).await?;
    if !any.state().can_sync() {
        return Err(Error::NotActive {
            integration,
            state: any.state().to_string(),
        });
    }
    let Some(outbound) = any.into_outbound() else {
        return Err(Error::WrongDirection { integration });
    };
    let rules: Vec<&dirsync_core::SyncRule> = match rule {
        None => outbound.rules().iter().collect(),
        Some(r) => vec![outbound.rule(r).ok_or_else(|| {
            Error::Source(dirsync_core::Error::InvalidValue {
                kind: "rule",
                value: r.to_string(),
                reason: "no such rule on this integration".to_owned(),
            })
        })?],
    };
    let assignments = rules
        .into_iter()
        .filter_map(|r| r.assignment.clone())
        .collect();
    Ok((outbound, assignments))
}

/// What an outbound plan is made from, read from the remote and the store.
struct OutboundInputs {
    snapshot: dirsync_core::Snapshot,
    stats: FetchStats,
    directory: DirectoryFacts,
    owned: Vec<OwnedMembership>,
    base: dirsync_core::Version,
}

/// Fetches the managed groups and reads the directory and the ownership records. The outer
/// error is the store's (no run can be recorded); the inner one the remote's (a failed run).
async fn outbound_inputs(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    integration: IntegrationId,
    assignments: &[GroupAssignment],
) -> Result<Result<OutboundInputs, dirsync_core::Error>, Error> {
    let request = FetchRequest::new(
        ObjectKinds::new([ObjectKind::Groups, ObjectKind::Memberships])?,
        ScopeFilter::everything().with_groups(assignments.iter().map(|a| a.group.clone())),
    );
    let fetched = match source.fetch(&request, ctx.progress).await {
        Ok(fetched) => fetched,
        Err(e) => return Ok(Err(e)),
    };
    let referenced: BTreeSet<Email> = assignments
        .iter()
        .flat_map(|a| a.select.groups())
        .cloned()
        .collect();
    let mut views = Vec::new();
    for any in ctx.store.integrations().await? {
        if any.direction() == DirectionKind::Inbound {
            views.push(ctx.store.view(any.id()).await?);
        }
    }
    Ok(Ok(OutboundInputs {
        snapshot: fetched.snapshot,
        stats: fetched.stats,
        directory: DirectoryFacts::from_views(&views, &referenced),
        owned: ctx.store.owned_memberships(integration).await?,
        base: ctx.store.version(integration).await?,
    }))
}

fn plan_from(
    outbound: &Integration<Outbound, Secondary>,
    assignments: &[GroupAssignment],
    inputs: &OutboundInputs,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToRemote>, Error> {
    let refs: Vec<&GroupAssignment> = assignments.iter().collect();
    plan_outbound(
        outbound,
        &refs,
        OutboundState {
            snapshot: &inputs.snapshot,
            directory: &inputs.directory,
            owned: &inputs.owned,
            base: inputs.base,
        },
        policy,
        now,
    )
}

/// Runs one outbound sync of `integration` (for one rule, or all its rules) and returns its
/// record: under the lease, fetch a complete snapshot of the managed groups, plan from the
/// directory, then
/// - nothing to do → `NoChange` (ownership records of members removed by someone else are
///   forgotten);
/// - a safeguard trips → the plan is held, nothing is written to the remote;
/// - otherwise → the target applies it; every insert it made is recorded as ours and every
///   removal forgets its record, in one store transaction. If some operations failed the run is
///   `Failed` naming them, what succeeded is recorded, and the next run plans only what is
///   still missing (inserts of members already present count as done, not as ours).
///
/// # Errors
/// Only when no run could be recorded (lease taken, unknown or inactive integration, store).
pub async fn sync_outbound(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    target: &dyn DirectoryTarget,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<SyncRun, Error> {
    ctx.with_lease(integration, async |lease: &Lease| {
        let started_at = ctx.clock.now();
        let (outbound, assignments) = outbound_assignments(ctx.store, integration, rule).await?;
        let outcome = if assignments.is_empty() {
            Outcome {
                outcome: RunOutcome::NoChange,
                counts: BTreeMap::new(),
                quarantined: Vec::new(),
                fetch: None,
            }
        } else {
            match outbound_inputs(ctx, source, integration, &assignments).await? {
                Err(e) => remote_failure(ctx.store, integration, e).await,
                Ok(inputs) => {
                    match plan_from(&outbound, &assignments, &inputs, ctx.policy, started_at) {
                        Err(e) => Outcome::failed(e, Some(inputs.stats.clone())),
                        Ok(plan) => {
                            let managed: BTreeSet<&ExternalId> = inputs
                                .snapshot
                                .groups()
                                .iter()
                                .map(|g| &g.external_id)
                                .collect();
                            let stale = stale_ownership(&inputs.owned, &inputs.snapshot, &managed);
                            let mut outcome =
                                hold_or_apply_remote(ctx, lease, target, &plan, stale, started_at)
                                    .await?;
                            let mut stats = inputs.stats;
                            if let Some(writes) = &outcome.fetch {
                                stats.absorb(writes);
                            }
                            outcome.fetch = Some(stats);
                            outcome
                        }
                    }
                }
            }
        };
        record(ctx, integration, rule, started_at, outcome).await
    })
    .await
}

async fn hold_or_apply_remote(
    ctx: &RunContext<'_>,
    lease: &Lease,
    target: &dyn DirectoryTarget,
    plan: &Plan<ToRemote>,
    stale: Vec<OwnershipChange>,
    now: DateTime<Utc>,
) -> Result<Outcome, Error> {
    let quarantined = plan.report().quarantined.clone();
    if plan.is_empty() {
        if !stale.is_empty() {
            ctx.store
                .record_ownership_fenced(plan.based_on(), &stale, lease)
                .await?;
        }
        return Ok(Outcome {
            outcome: RunOutcome::NoChange,
            counts: BTreeMap::new(),
            quarantined,
            fetch: None,
        });
    }
    if plan.is_held() {
        hold_plan_value(
            ctx.store,
            plan.integration(),
            plan.id(),
            plan.trips(),
            plan.to_json()?,
            now,
        )
        .await?;
        return Ok(Outcome {
            outcome: RunOutcome::Held {
                plan: plan.id().clone(),
            },
            counts: plan.count_names(),
            quarantined,
            fetch: None,
        });
    }
    let (outcome, counts, writes) = apply_remote(ctx, lease, target, plan, stale, now).await?;
    if matches!(outcome, RunOutcome::Succeeded) {
        release_superseded(ctx.store, plan.integration(), None).await?;
    }
    Ok(Outcome {
        outcome,
        counts,
        quarantined,
        fetch: Some(writes),
    })
}

/// Applies a remote plan and records what it did; returns the outcome, the counts of what
/// actually happened and the connector's figures for the writes.
async fn apply_remote(
    ctx: &RunContext<'_>,
    lease: &Lease,
    target: &dyn DirectoryTarget,
    plan: &Plan<ToRemote>,
    mut ownership: Vec<OwnershipChange>,
    now: DateTime<Utc>,
) -> Result<(RunOutcome, BTreeMap<String, u64>, FetchStats), Error> {
    let integration = plan.integration();
    let report = match target.apply(plan.changes()).await {
        Ok(report) => report,
        Err(e) => {
            let failed = remote_failure(ctx.store, integration, e).await;
            return Ok((failed.outcome, failed.counts, FetchStats::default()));
        }
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for (op, outcome) in plan.changes().ops().iter().zip(&report.outcomes) {
        let (name, change) = match (op, outcome) {
            (
                RemoteOp::InsertMember {
                    group,
                    member,
                    role,
                },
                RemoteOpOutcome::Done,
            ) => (
                OpKind::RemoteMembersAdded.name(),
                Some(OwnershipChange::Claim(OwnedMembership {
                    integration,
                    group: group.clone(),
                    member: member.clone(),
                    role: *role,
                    created_at: now,
                })),
            ),
            (RemoteOp::DeleteMember { group, member }, RemoteOpOutcome::Done) => (
                OpKind::RemoteMembersRemoved.name(),
                Some(OwnershipChange::Release {
                    group: group.clone(),
                    member: member.clone(),
                }),
            ),
            // A member that was already there is not ours; one already gone is forgotten.
            (RemoteOp::InsertMember { .. }, RemoteOpOutcome::AlreadyDone) => {
                ("remote_members_already_present".to_owned(), None)
            }
            (RemoteOp::DeleteMember { group, member }, RemoteOpOutcome::AlreadyDone) => (
                "remote_members_already_absent".to_owned(),
                Some(OwnershipChange::Release {
                    group: group.clone(),
                    member: member.clone(),
                }),
            ),
            (op, RemoteOpOutcome::Failed { reason }) => {
                failures.push(format!("{}: {reason}", describe(op)));
                ("remote_ops_failed".to_owned(), None)
            }
            // An operation or outcome this engine does not know: failed, nothing claimed.
            (op, outcome) => {
                failures.push(format!(
                    "{}: unrecognised outcome {outcome:?}",
                    describe(op)
                ));
                ("remote_ops_failed".to_owned(), None)
            }
        };
        *counts.entry(name).or_default() += 1;
        ownership.extend(change);
    }
    let unreported = plan
        .changes()
        .ops()
        .len()
        .saturating_sub(report.outcomes.len());
    if unreported > 0 {
        failures.push(format!("{unreported} operation(s) without an outcome"));
        *counts.entry("remote_ops_failed".to_owned()).or_default() += unreported as u64;
    }
    if !ownership.is_empty() {
        ctx.store
            .record_ownership_fenced(plan.based_on(), &ownership, lease)
            .await?;
    }
    let outcome = if failures.is_empty() {
        RunOutcome::Succeeded
    } else {
        let total = plan.changes().ops().len();
        RunOutcome::Failed {
            reason: format!(
                "{} of {total} remote operations failed; what succeeded is recorded and the next \
                 run finishes the rest. First: {}",
                failures.len(),
                failures.first().map(String::as_str).unwrap_or_default()
            ),
        }
    };
    Ok((outcome, counts, report.stats))
}

fn describe(op: &RemoteOp) -> String {
    match op {
        RemoteOp::InsertMember { group, member, .. } => format!("insert {member} into {group}"),
        RemoteOp::DeleteMember { group, member } => format!("remove {member} from {group}"),
        other => format!("{other:?}"),
    }
}

/// An outbound dry run: fetches and plans exactly as [`sync_outbound`] would and returns the
/// plan, writing nothing.
///
/// # Errors
/// As [`dry_run_inbound`], for an outbound integration.
pub async fn dry_run_outbound(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<Plan<ToRemote>, Error> {
    let (outbound, assignments) = outbound_assignments(ctx.store, integration, rule).await?;
    let inputs = outbound_inputs(ctx, source, integration, &assignments).await??;
    plan_from(
        &outbound,
        &assignments,
        &inputs,
        ctx.policy,
        ctx.clock.now(),
    )
}

/// Applies a held outbound plan, exactly as it was held, through `target`, if the ownership
/// records are still at the version it was planned on. Records the run.
///
/// # Errors
/// As [`approve`].
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
