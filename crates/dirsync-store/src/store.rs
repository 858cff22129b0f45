//! The `Store` trait: the contract every backend fulfils.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email,
    Group, HeldPlan, Inbound, Integration, IntegrationId, Membership, NewIntegration, OrgUnit,
    OwnedGroup, OwnedMembership, OwnershipChange, PlanId, Primary, PushChannel, SyncRun, UserId,
    Version,
};
use serde::{Deserialize, Serialize};

use crate::Result;

/// One integration's data as the store holds it, with the version it is at, plus the unified
/// directory the engine matches against. Every list is sorted by its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalView {
    /// The integration.
    pub integration: IntegrationId,
    /// The version of its data.
    pub version: Version,
    /// Its accounts, by remote id.
    pub accounts: Vec<Account>,
    /// Its groups, by remote id.
    pub groups: Vec<Group>,
    /// Its memberships, by (group, member kind, member id).
    pub memberships: Vec<Membership>,
    /// Its org units, by remote id.
    pub org_units: Vec<OrgUnit>,
    /// Every directory user, by id.
    pub users: Vec<DirectoryUser>,
}

/// The result of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The integration's version after the apply (unchanged when nothing was written).
    pub version: Version,
    /// Operations written.
    pub ops: usize,
}

/// What removing an integration removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// Accounts.
    pub accounts: u64,
    /// Groups.
    pub groups: u64,
    /// Memberships.
    pub memberships: u64,
    /// Org units.
    pub org_units: u64,
    /// Held plans.
    pub held_plans: u64,
    /// Ownership records of an outbound integration (the remote memberships stay in the
    /// remote; only the record that this integration created them goes).
    #[serde(default)]
    pub owned_memberships: u64,
    /// Group ownership records of an outbound integration (the remote groups stay).
    #[serde(default)]
    pub owned_groups: u64,
}

/// A per-integration lease: while held and unexpired, no other holder gets one. Syncs take it
/// so that two runs of one integration never interleave, across processes and machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The integration.
    pub integration: IntegrationId,
    /// Who holds it (e.g. `host:pid:run`).
    pub holder: String,
    /// When it expires unless renewed.
    pub until: DateTime<Utc>,
}

/// The storage contract of directory-sync.
///
/// Used as `Arc<dyn Store>`. Every backend passes the conformance suite
/// (`dirsync_store::conformance`, feature `conformance`), which is the executable form of this
/// contract. In short:
///
/// - **Integrations.** [`create_integration`](Store::create_integration) makes the first inbound
///   integration the primary, atomically (of concurrent creations, exactly one wins); an outbound
///   integration is never primary. Direction, role, system and creation time never change:
///   [`save_integration`](Store::save_integration) refuses it with `Immutable`, and a stale
///   revision with `StaleIntegration`. [`remove_integration`](Store::remove_integration) removes
///   exactly what the integration owns (accounts, groups, memberships, org units, held plans;
///   run records stay as history) and refuses the primary while it owns data. If a primary
///   that never owned data is removed, the next inbound integration created becomes primary.
/// - **Apply.** [`apply`](Store::apply) writes a change set in one transaction: all of it or
///   none of it. It is refused with `Conflict` unless the change set's base version is the
///   integration's current version; every non-empty apply bumps the version by one and an empty
///   one writes nothing. Profile and lifecycle operations are refused with `NotPrimary` unless
///   the change set belongs to the recorded primary; any invalid operation (duplicate email,
///   unknown user, group or object to remove, illegal lifecycle transition, an object of another
///   integration) is refused with `InvalidChange` naming its index.
/// - **Reads** return owned, sorted data; email lookups ignore ASCII case.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Creates an integration, `Staged`, deciding its role (the first inbound one is primary).
    /// `AlreadyExists` if its id is taken.
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration>;

    /// One integration. `NotFound` if there is none.
    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration>;

    /// Every integration, oldest first.
    async fn integrations(&self) -> Result<Vec<AnyIntegration>>;

    /// The primary integration, if one exists.
    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>>;

    /// Saves an integration's mutable fields (title, schedule, rules, state, settings,
    /// authorization) if its revision is current; returns it with the new revision.
    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration>;

    /// Removes an integration and everything it owns.
    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed>;

    /// One integration's data and the unified directory, at one consistent version.
    async fn view(&self, integration: IntegrationId) -> Result<LocalView>;

    /// Applies a change set in one transaction, with the version check.
    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied>;

    /// The version of one integration's data.
    async fn version(&self, integration: IntegrationId) -> Result<Version>;

    /// Every directory user, by id.
    async fn users(&self) -> Result<Vec<DirectoryUser>>;

    /// One directory user.
    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>>;

    /// The directory user with this primary email (ASCII case ignored).
    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>>;

    /// The accounts linked to a directory user, across integrations.
    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>>;

    /// Records a sync run. Recording a run whose id was recorded before replaces it (so a run
    /// can be recorded when it starts and again when it ends, and a retried write does not
    /// duplicate it).
    async fn record_run(&self, run: &SyncRun) -> Result<()>;

    /// An integration's runs, newest first, at most `limit`.
    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>>;

    /// Retention of run records: deletes the integration's runs beyond its newest `keep`, and
    /// those that started before `before` — never its newest run. Returns how many went.
    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64>;

    /// Holds a plan until it is approved (replacing a held plan with the same id).
    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()>;

    /// A held plan.
    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>>;

    /// An integration's held plans, oldest first.
    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>>;

    /// Removes a held plan (after it was approved and applied, or discarded) and returns it.
    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan>;

    /// Takes the integration's lease for `holder` until `until`, if it is free or expired at
    /// `now` (or already held by `holder`, which renews it). `Leased` otherwise.
    async fn acquire_lease(
        &self,
        integration: IntegrationId,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Lease>;

    /// Gives a lease back. Releasing a lease that is no longer held by its holder does nothing.
    async fn release_lease(&self, lease: &Lease) -> Result<()>;

    /// Extends `lease` until `until` (a run's heartbeat), if its holder still holds it —
    /// expired or not, as long as no other holder took it. `LeaseLost` otherwise.
    async fn renew_lease(&self, lease: &Lease, until: DateTime<Utc>) -> Result<Lease>;

    /// [`apply`](Store::apply), fenced by the lease of the run that writes: refused with
    /// `LeaseLost`, writing nothing, unless `fence` is still the integration's lease, checked
    /// in the same transaction.
    async fn apply_fenced(&self, changes: &DirectoryChanges, fence: &Lease) -> Result<Applied>;

    /// The remote memberships an outbound integration created (its ownership records), by
    /// (group id, member email).
    async fn owned_memberships(&self, integration: IntegrationId) -> Result<Vec<OwnedMembership>>;

    /// The remote groups an outbound integration created, adopted or is creating (its group
    /// ownership records), by email key.
    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>>;

    /// Records what an outbound apply did in the remote, in one transaction: `Claim`s for the
    /// members it inserted, `Release`s for the members it removed (releasing a record that does
    /// not exist is not an error: the member is gone either way), and likewise `ClaimGroup`s
    /// and `ReleaseGroup`s for the groups it creates, adopted or deleted. Refused with `NotOutbound`
    /// for an inbound integration and `Conflict` unless `base` is the integration's version;
    /// a non-empty record bumps the version by one.
    async fn record_ownership(
        &self,
        integration: IntegrationId,
        base: Version,
        changes: &[OwnershipChange],
    ) -> Result<Applied>;

    /// [`record_ownership`](Store::record_ownership), fenced by `fence` as
    /// [`apply_fenced`](Store::apply_fenced).
    async fn record_ownership_fenced(
        &self,
        base: Version,
        changes: &[OwnershipChange],
        fence: &Lease,
    ) -> Result<Applied>;

    /// Stores a new API token record (`AlreadyExists` if its name is taken).
    async fn create_api_token(&self, token: &ApiToken) -> Result<()>;

    /// Every API token record, by name.
    async fn api_tokens(&self) -> Result<Vec<ApiToken>>;

    /// The API token record whose hash is `hash`.
    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;

    /// Removes the API token named `name` and returns it (`NotFound` if there is none).
    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken>;

    /// The push channels recorded for an integration, oldest (by `opened_at`, then id) first:
    /// one live channel, two while one replaces the other. Removing the integration removes them.
    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>>;

    /// Records a push channel, or replaces the record with its id (a new last notification).
    /// `NotFound` for an unknown integration; `AlreadyExists` if the id is another
    /// integration's channel.
    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()>;

    /// Forgets a push channel (once it is stopped or expired) and returns it; `None` if no
    /// channel has that id.
    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>>;

    /// Where the integration's activity polling stands (e.g. Google's Reports API for groups
    /// and memberships); `None` before its first poll. `NotFound` for an unknown integration.
    async fn activity_cursor(&self, integration: IntegrationId) -> Result<Option<ActivityCursor>>;

    /// Records the integration's activity cursor (replacing the one it had). `NotFound` for an
    /// unknown integration. Removing the integration removes it.
    async fn save_activity_cursor(&self, cursor: &ActivityCursor) -> Result<()>;
}
