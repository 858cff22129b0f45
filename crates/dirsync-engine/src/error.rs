//! The one error type of `dirsync-engine`.

use dirsync_core::{IntegrationId, PlanId, RemoteOpKinds, RuleId};

/// What can stop a plan or a run. Each variant says what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The snapshot is empty while the store holds data for this integration: a fetch that
    /// returned nothing is not evidence that everything is gone. Nothing was planned; check the
    /// source (scope, permissions) and run again.
    #[error(
        "refused: the snapshot of integration {integration} is empty but the store holds {held} objects for it"
    )]
    EmptySnapshot {
        /// The integration.
        integration: IntegrationId,
        /// How many objects the store holds for it in the snapshot's scope.
        held: usize,
    },

    /// The directory holds no users, so an outbound plan would remove every member it may
    /// remove: refused (sync the primary first).
    #[error(
        "refused: the directory is empty, so integration {integration} would remove {removals} members from its managed groups; sync the primary integration first"
    )]
    EmptyDirectory {
        /// The outbound integration.
        integration: IntegrationId,
        /// The removals it would have planned.
        removals: u64,
    },

    /// The snapshot does not cover a kind the plan needs (e.g. groups without org units is
    /// fine, memberships without groups is not).
    #[error("the snapshot does not cover {what}")]
    Scope {
        /// What is missing.
        what: String,
    },

    /// The integration is not in a state that syncs (staged, inactive or failed).
    #[error("integration {integration} is {state}: only active integrations sync")]
    NotActive {
        /// The integration.
        integration: IntegrationId,
        /// Its state.
        state: String,
    },

    /// Outbound integrations are planned with the outbound planner.
    #[error("integration {integration} is outbound: use the outbound planner")]
    WrongDirection {
        /// The integration.
        integration: IntegrationId,
    },

    /// A scheduled run found its rule no longer due once it held the integration's lease:
    /// another scheduler on the same store ran it meanwhile. Nothing ran; nothing to do.
    #[error("rule {rule} of integration {integration} is no longer due: another scheduler ran it")]
    NotDue {
        /// The integration.
        integration: IntegrationId,
        /// The rule.
        rule: RuleId,
    },

    /// No held plan has this id. It may have been applied or discarded already.
    #[error("no held plan {plan}")]
    NoHeldPlan {
        /// The id named.
        plan: PlanId,
    },

    /// A held plan's content does not hash to its id (it was altered). It is not applied.
    #[error("held plan {plan} does not match its id; refusing to apply it")]
    TamperedPlan {
        /// The id.
        plan: PlanId,
    },

    /// The store moved on since the plan was made: approve nothing, run the sync again and
    /// review the new plan.
    #[error("plan {plan} was made against {planned} but the store is at {current}; run again")]
    StalePlan {
        /// The plan.
        plan: PlanId,
        /// The version it was planned on.
        planned: dirsync_core::Version,
        /// The store's version now.
        current: dirsync_core::Version,
    },

    /// An outbound plan uses operations its target cannot carry out. Refused before anything
    /// was applied or held; the target (connector) must support them, or the rules must not
    /// plan them.
    #[error(
        "integration {integration}: the target cannot apply {unsupported} (it supports \
         {supported}); nothing was applied"
    )]
    UnsupportedOperations {
        /// The outbound integration.
        integration: IntegrationId,
        /// The kinds of operation the plan uses that the target does not support.
        unsupported: RemoteOpKinds,
        /// What the target supports.
        supported: RemoteOpKinds,
    },

    /// A pushed change claims what another object of the integration holds (an email); the
    /// source must resolve it. Nothing was written.
    #[error("{what}")]
    Taken {
        /// What is taken.
        what: String,
    },

    /// A plan could not be (de)serialized.
    #[error("plan encoding: {0}")]
    Encoding(#[from] serde_json::Error),

    /// The connector failed (after its retries). Nothing was applied.
    #[error(transparent)]
    Source(#[from] dirsync_core::Error),

    /// The store failed. Nothing was applied, or the whole change set was (the store is
    /// transactional).
    #[error(transparent)]
    Store(#[from] dirsync_store::Error),
}
