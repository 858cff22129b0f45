//! Outbound runs: fetch the managed groups, plan from the directory and the ownership records,
//! then hold or apply through the target and record what it did; and the dry run.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use dirsync_core::{
    DirectionKind, DirectorySource, DirectoryTarget, Email, ExternalId, FetchRequest, FetchStats,
    GroupAssignment, GroupOrigin, GroupProvisioning, Integration, IntegrationId, ObjectKind,
    ObjectKinds, Outbound, OwnedGroup, OwnedMembership, OwnershipChange, RemoteOp, RemoteOpOutcome,
    RuleId, RunOutcome, ScopeFilter, Secondary, Selector, SyncRun, UserProvisioning,
};
use dirsync_store::{Lease, Store};

use super::{
    Outcome, RunContext, hold_plan_value, record, release_superseded, remote_failure, still_due,
};
use crate::outbound::{
    DirectoryFacts, GroupInputs, OutboundState, plan_outbound, settled_group_ownership,
    stale_ownership,
};
use crate::plan::{OpKind, Plan, ToRemote};
use crate::provision::desired::desired_groups;
use crate::provision::groups::DesiredGroup;
use crate::{Error, Policy};

/// What a run of an outbound integration covers: its group assignments and its user and group
/// provisioning rules.
struct Covered {
    assignments: Vec<GroupAssignment>,
    provisioning: Option<UserProvisioning>,
    groups: Option<GroupProvisioning>,
}

impl Covered {
    fn is_empty(&self) -> bool {
        self.assignments.is_empty() && self.provisioning.is_none() && self.groups.is_none()
    }
}

/// Loads an outbound integration that may sync and what a run of `rule` (or of all its rules)
/// covers.
async fn outbound_assignments(
    store: &dyn Store,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<(Integration<Outbound, Secondary>, Covered), Error> {
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
    let covered = Covered {
        assignments: rules.iter().filter_map(|r| r.assignment.clone()).collect(),
        provisioning: rules.iter().find_map(|r| r.provision_users.clone()),
        groups: rules.iter().find_map(|r| r.provision_groups.clone()),
    };
    Ok((outbound, covered))
}

/// What an outbound plan is made from, read from the remote and the store.
struct OutboundInputs {
    snapshot: dirsync_core::Snapshot,
    stats: FetchStats,
    directory: DirectoryFacts,
    owned: Vec<OwnedMembership>,
    desired: Vec<DesiredGroup>,
    owned_groups: Vec<OwnedGroup>,
    base: dirsync_core::Version,
}

/// Fetches the managed groups and reads the directory and the ownership records. The outer
/// error is the store's (no run can be recorded); the inner one the remote's (a failed run).
async fn outbound_inputs(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    integration: IntegrationId,
    covered: &Covered,
) -> Result<Result<OutboundInputs, dirsync_core::Error>, Error> {
    let assignments = &covered.assignments;
    let mut kinds = Vec::new();
    if !assignments.is_empty() {
        kinds.extend([ObjectKind::Groups, ObjectKind::Memberships]);
    }
    if covered.provisioning.is_some() {
        kinds.extend([ObjectKind::Users, ObjectKind::OrgUnits]);
    }
    // Provisioning groups reads every remote group (ours, and those in the way).
    let filter = if covered.groups.is_some() {
        kinds.extend([ObjectKind::Groups, ObjectKind::Memberships]);
        ScopeFilter::everything()
    } else {
        ScopeFilter::everything().with_groups(assignments.iter().map(|a| a.group.clone()))
    };
    kinds.sort_unstable();
    kinds.dedup();
    let request = FetchRequest::new(ObjectKinds::new(kinds)?, filter);
    let fetched = match source.fetch(&request, ctx.progress).await {
        Ok(fetched) => fetched,
        Err(e) => return Ok(Err(e)),
    };
    let referenced: BTreeSet<Email> = assignments
        .iter()
        .map(|a| &a.select)
        .chain(covered.provisioning.as_ref().map(|p| &p.select))
        .flat_map(Selector::groups)
        .cloned()
        .collect();
    let mut views = Vec::new();
    for any in ctx.store.integrations().await? {
        if any.direction() == DirectionKind::Inbound {
            views.push(ctx.store.view(any.id()).await?);
        }
    }
    let (desired, owned_groups) = match &covered.groups {
        Some(rule) => (
            desired_groups(&views, rule),
            ctx.store.owned_groups(integration).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Ok(OutboundInputs {
        snapshot: fetched.snapshot,
        stats: fetched.stats,
        directory: DirectoryFacts::from_views(&views, &referenced, &ctx.policy.attributes),
        owned: ctx.store.owned_memberships(integration).await?,
        desired,
        owned_groups,
        base: ctx.store.version(integration).await?,
    }))
}

fn plan_from(
    outbound: &Integration<Outbound, Secondary>,
    target: &dyn DirectoryTarget,
    covered: &Covered,
    inputs: &OutboundInputs,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Plan<ToRemote>, Error> {
    let refs: Vec<&GroupAssignment> = covered.assignments.iter().collect();
    plan_outbound(
        outbound,
        &refs,
        OutboundState {
            snapshot: &inputs.snapshot,
            directory: &inputs.directory,
            owned: &inputs.owned,
            base: inputs.base,
            provisioning: covered.provisioning.as_ref(),
            groups: covered.groups.as_ref().map(|rule| GroupInputs {
                rule,
                desired: &inputs.desired,
                owned: &inputs.owned_groups,
                traits: target.group_traits(),
            }),
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
/// - the plan uses an operation `target` does not support
///   ([`DirectoryTarget::supported_operations`]) → `Failed` naming them
///   ([`Error::UnsupportedOperations`]), nothing held or written;
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
        still_due(ctx, integration, rule).await?;
        let started_at = ctx.clock.now();
        let (outbound, covered) = outbound_assignments(ctx.store, integration, rule).await?;
        let outcome = if covered.is_empty() {
            Outcome {
                outcome: RunOutcome::NoChange,
                counts: BTreeMap::new(),
                quarantined: Vec::new(),
                fetch: None,
            }
        } else {
            match outbound_inputs(ctx, source, integration, &covered).await? {
                Err(e) => remote_failure(ctx.store, integration, e).await,
                Ok(inputs) => {
                    let planned =
                        plan_from(&outbound, target, &covered, &inputs, ctx.policy, started_at)
                            .and_then(|plan| supported_by(target, &plan).map(|()| plan));
                    match planned {
                        Err(e) => Outcome::failed(e, Some(inputs.stats.clone())),
                        Ok(plan) => {
                            let managed: BTreeSet<&ExternalId> = inputs
                                .snapshot
                                .groups()
                                .iter()
                                .map(|g| &g.external_id)
                                .collect();
                            let mut stale =
                                stale_ownership(&inputs.owned, &inputs.snapshot, &managed);
                            if covered.groups.is_some() {
                                stale.extend(settled_group_ownership(
                                    &inputs.owned_groups,
                                    &inputs.snapshot,
                                    plan.changes().ops(),
                                    started_at,
                                ));
                            }
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
pub(super) async fn apply_remote(
    ctx: &RunContext<'_>,
    lease: &Lease,
    target: &dyn DirectoryTarget,
    plan: &Plan<ToRemote>,
    mut ownership: Vec<OwnershipChange>,
    now: DateTime<Utc>,
) -> Result<(RunOutcome, BTreeMap<String, u64>, FetchStats), Error> {
    let integration = plan.integration();
    // Groups about to be inserted are recorded as pending first: an insert whose answer is
    // lost (or whose run is killed) is then recognised by the next run.
    let pending: Vec<OwnershipChange> = plan
        .changes()
        .ops()
        .iter()
        .filter_map(|op| match op {
            RemoteOp::CreateGroup { fields } => Some(OwnershipChange::ClaimGroup(OwnedGroup {
                integration,
                email: fields.email.clone(),
                origin: GroupOrigin::Pending,
                recorded_at: now,
            })),
            _ => None,
        })
        .collect();
    let base = if pending.is_empty() {
        plan.based_on()
    } else {
        ctx.store
            .record_ownership_fenced(plan.based_on(), &pending, lease)
            .await?
            .version
    };
    let report = match target.apply(plan.changes()).await {
        Ok(report) => report,
        Err(e) => {
            let failed = remote_failure(ctx.store, integration, e).await;
            return Ok((failed.outcome, failed.counts, FetchStats::default()));
        }
    };
    // The memberships we own, read only when a role is set (its record follows the role).
    let owned = if plan
        .changes()
        .ops()
        .iter()
        .any(|op| matches!(op, RemoteOp::SetMemberRole { .. }))
    {
        ctx.store.owned_memberships(integration).await?
    } else {
        Vec::new()
    };
    let owned_keys: std::collections::HashSet<(&ExternalId, String)> =
        owned.iter().map(|o| (&o.group, o.member.key())).collect();
    // The groups we own, read only when a group is updated (an update of one we do not own is
    // an adoption, recorded once confirmed).
    let owned_groups: std::collections::HashSet<String> = if plan
        .changes()
        .ops()
        .iter()
        .any(|op| matches!(op, RemoteOp::UpdateGroup { .. }))
    {
        ctx.store
            .owned_groups(integration)
            .await?
            .into_iter()
            .map(|g| g.email.key())
            .collect()
    } else {
        std::collections::HashSet::new()
    };
    let claim_group = |email: &Email, origin| {
        OwnershipChange::ClaimGroup(OwnedGroup {
            integration,
            email: email.clone(),
            origin,
            recorded_at: now,
        })
    };
    let group_email = |group: &ExternalId| plan.report().group_names.get(group).cloned();
    // Groups this plan creates are named by email until they exist: their members are ours
    // with the group (an [`OwnedGroup`]), not recorded one by one under a name that is not the
    // group's id.
    let created: std::collections::HashSet<&str> = plan
        .changes()
        .ops()
        .iter()
        .filter_map(|op| match op {
            RemoteOp::CreateGroup { fields } => Some(fields.email.as_str()),
            _ => None,
        })
        .collect();
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
                (!created.contains(group.as_str())).then(|| {
                    OwnershipChange::Claim(OwnedMembership {
                        integration,
                        group: group.clone(),
                        member: member.clone(),
                        role: *role,
                        created_at: now,
                    })
                }),
            ),
            // A role set back: the record keeps the role it now has (a membership of a fully
            // managed group that we did not create stays unrecorded).
            (
                RemoteOp::SetMemberRole {
                    group,
                    member,
                    role,
                },
                RemoteOpOutcome::Done,
            ) => (
                OpKind::RemoteMemberRolesSet.name(),
                owned_keys.contains(&(group, member.key())).then(|| {
                    OwnershipChange::Claim(OwnedMembership {
                        integration,
                        group: group.clone(),
                        member: member.clone(),
                        role: *role,
                        created_at: now,
                    })
                }),
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
                failures.push(format!("{op}: {reason}"));
                ("remote_ops_failed".to_owned(), None)
            }
            // A group inserted is ours; one that was there already (a stranger's: our own
            // insert whose answer was lost is `Done`) is not, and its pending record goes.
            (RemoteOp::CreateGroup { fields }, RemoteOpOutcome::Done) => (
                OpKind::RemoteGroupsCreated.name(),
                Some(claim_group(&fields.email, GroupOrigin::Created)),
            ),
            (RemoteOp::CreateGroup { fields }, RemoteOpOutcome::AlreadyDone) => (
                "remote_groups_already_present".to_owned(),
                Some(OwnershipChange::ReleaseGroup {
                    email: fields.email.clone(),
                }),
            ),
            (RemoteOp::UpdateGroup { fields, .. }, RemoteOpOutcome::Done) => (
                OpKind::RemoteGroupsUpdated.name(),
                (!owned_groups.contains(&fields.email.key()))
                    .then(|| claim_group(&fields.email, GroupOrigin::Adopted)),
            ),
            (
                RemoteOp::DeleteGroup { group },
                RemoteOpOutcome::Done | RemoteOpOutcome::AlreadyDone,
            ) => (
                OpKind::RemoteGroupsDeleted.name(),
                group_email(group).map(|email| OwnershipChange::ReleaseGroup { email }),
            ),
            // Other whole-object operations: counted by kind (users carry their own marker).
            (op, RemoteOpOutcome::Done) => (format!("remote_{}", op.kind()), None),
            (op, RemoteOpOutcome::AlreadyDone) => {
                (format!("remote_{}_already_done", op.kind()), None)
            }
            // An outcome this engine does not know: failed, nothing claimed.
            (op, outcome) => {
                failures.push(format!("{op}: unrecognised outcome {outcome:?}"));
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
            .record_ownership_fenced(base, &ownership, lease)
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

/// Refuses a plan that uses an operation `target` does not support, before anything is applied
/// or held.
///
/// # Errors
/// [`Error::UnsupportedOperations`] naming the kinds it lacks.
pub(super) fn supported_by(
    target: &dyn DirectoryTarget,
    plan: &Plan<ToRemote>,
) -> Result<(), Error> {
    let supported = target.supported_operations();
    let unsupported = plan.changes().kinds().difference(&supported);
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(Error::UnsupportedOperations {
            integration: plan.integration(),
            unsupported,
            supported,
        })
    }
}

/// An outbound dry run: fetches and plans exactly as [`sync_outbound`] would and returns the
/// plan, writing nothing.
///
/// # Errors
/// As [`crate::dry_run_inbound`], for an outbound integration.
pub async fn dry_run_outbound(
    ctx: &RunContext<'_>,
    source: &dyn DirectorySource,
    target: &dyn DirectoryTarget,
    integration: IntegrationId,
    rule: Option<RuleId>,
) -> Result<Plan<ToRemote>, Error> {
    let (outbound, covered) = outbound_assignments(ctx.store, integration, rule).await?;
    let inputs = outbound_inputs(ctx, source, integration, &covered).await??;
    plan_from(
        &outbound,
        target,
        &covered,
        &inputs,
        ctx.policy,
        ctx.clock.now(),
    )
}
