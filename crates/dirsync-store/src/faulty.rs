//! `FaultyStore`: a decorator that makes chosen operations fail, to test failure paths.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email,
    HeldPlan, Inbound, Integration, IntegrationId, NewIntegration, OwnedGroup, OwnedMembership,
    OwnershipChange, PlanId, Primary, PushChannel, SyncRun, UserId, Version,
};

use crate::{Applied, Error, Lease, LocalView, Removed, Result, Store};

/// A store operation, as named by the fault plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Store::create_integration`]
    CreateIntegration,
    /// [`Store::integration`], [`Store::integrations`], [`Store::primary`]
    ReadIntegrations,
    /// [`Store::save_integration`]
    SaveIntegration,
    /// [`Store::remove_integration`]
    RemoveIntegration,
    /// [`Store::view`], [`Store::version`]
    View,
    /// [`Store::apply`], [`Store::apply_fenced`]
    Apply,
    /// [`Store::users`], [`Store::user`], [`Store::user_by_email`], [`Store::accounts_of`]
    ReadDirectory,
    /// [`Store::record_run`], [`Store::prune_runs`]
    RecordRun,
    /// [`Store::runs`]
    ReadRuns,
    /// [`Store::hold_plan`], [`Store::release_plan`]
    WritePlans,
    /// [`Store::held_plan`], [`Store::held_plans`]
    ReadPlans,
    /// [`Store::acquire_lease`], [`Store::release_lease`], [`Store::renew_lease`]
    Lease,
    /// [`Store::owned_memberships`]
    ReadOwnership,
    /// [`Store::record_ownership`], [`Store::record_ownership_fenced`]
    RecordOwnership,
}

/// When an injected fault strikes relative to the real operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Fail without calling the inner store: nothing happens.
    Before,
    /// Call the inner store, then report a failure anyway: the write happened but the caller
    /// never hears of it (a lost acknowledgement).
    After,
}

#[derive(Debug, Clone)]
struct Fault {
    op: Operation,
    point: FaultPoint,
    skip: u32,
    times: Option<u32>,
}

/// Wraps a store and fails the operations of its fault plan with [`Error::Unavailable`]
/// (backend `"faulty"`). Operations without a planned fault pass through.
///
/// ```
/// use dirsync_core::IntegrationId;
/// use dirsync_store::{Error, FaultPoint, FaultyStore, InMemoryStore, Operation, Store};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = FaultyStore::new(InMemoryStore::new());
/// let id = IntegrationId::random();
/// // The second read of run records fails, once.
/// store.fail(Operation::ReadRuns, FaultPoint::Before, 1, Some(1));
/// assert!(store.runs(id, 10).await.is_ok());
/// assert!(matches!(
///     store.runs(id, 10).await,
///     Err(Error::Unavailable { backend: "faulty", .. })
/// ));
/// assert!(store.runs(id, 10).await.is_ok());
/// # });
/// ```
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    faults: Mutex<Vec<Fault>>,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner` with an empty fault plan.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            faults: Mutex::new(Vec::new()),
        }
    }

    /// Plans a fault: after letting `skip` calls of `op` through, fail the next `times` calls
    /// (`None`: every following call) at `point`.
    pub fn fail(&self, op: Operation, point: FaultPoint, skip: u32, times: Option<u32>) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.push(Fault {
                op,
                point,
                skip,
                times,
            });
        }
    }

    /// Removes every planned fault.
    pub fn heal(&self) {
        if let Ok(mut faults) = self.faults.lock() {
            faults.clear();
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Whether this call of `op` fails, and where. Consumes one use of the matching fault.
    fn strike(&self, op: Operation) -> Option<FaultPoint> {
        let mut faults = self.faults.lock().ok()?;
        let fault = faults
            .iter_mut()
            .find(|f| f.op == op && f.times != Some(0))?;
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
        Some(fault.point)
    }

    async fn run<T>(
        &self,
        op: Operation,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.strike(op) {
            Some(FaultPoint::Before) => Err(injected(op)),
            Some(FaultPoint::After) => {
                call.await?;
                Err(injected(op))
            }
            None => call.await,
        }
    }
}

fn injected(op: Operation) -> Error {
    Error::Unavailable {
        backend: "faulty",
        source: format!("injected fault in {op:?}").into(),
    }
}

#[async_trait]
impl<S: Store> Store for FaultyStore<S> {
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration> {
        self.run(
            Operation::CreateIntegration,
            self.inner.create_integration(new),
        )
        .await
    }

    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration> {
        self.run(Operation::ReadIntegrations, self.inner.integration(id))
            .await
    }

    async fn integrations(&self) -> Result<Vec<AnyIntegration>> {
        self.run(Operation::ReadIntegrations, self.inner.integrations())
            .await
    }

    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>> {
        self.run(Operation::ReadIntegrations, self.inner.primary())
            .await
    }

    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration> {
        self.run(
            Operation::SaveIntegration,
            self.inner.save_integration(integration),
        )
        .await
    }

    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed> {
        self.run(
            Operation::RemoveIntegration,
            self.inner.remove_integration(id),
        )
        .await
    }

    async fn view(&self, integration: IntegrationId) -> Result<LocalView> {
        self.run(Operation::View, self.inner.view(integration))
            .await
    }

    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied> {
        self.run(Operation::Apply, self.inner.apply(changes)).await
    }

    async fn version(&self, integration: IntegrationId) -> Result<Version> {
        self.run(Operation::View, self.inner.version(integration))
            .await
    }

    async fn users(&self) -> Result<Vec<DirectoryUser>> {
        self.run(Operation::ReadDirectory, self.inner.users()).await
    }

    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>> {
        self.run(Operation::ReadDirectory, self.inner.user(id))
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        self.run(Operation::ReadDirectory, self.inner.user_by_email(email))
            .await
    }

    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>> {
        self.run(Operation::ReadDirectory, self.inner.accounts_of(user))
            .await
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        self.run(Operation::RecordRun, self.inner.record_run(run))
            .await
    }

    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        self.run(
            Operation::RecordRun,
            self.inner.prune_runs(integration, keep, before),
        )
        .await
    }

    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>> {
        self.run(Operation::ReadRuns, self.inner.runs(integration, limit))
            .await
    }

    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()> {
        self.run(Operation::WritePlans, self.inner.hold_plan(plan))
            .await
    }

    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>> {
        self.run(Operation::ReadPlans, self.inner.held_plan(id))
            .await
    }

    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>> {
        self.run(Operation::ReadPlans, self.inner.held_plans(integration))
            .await
    }

    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan> {
        self.run(Operation::WritePlans, self.inner.release_plan(id))
            .await
    }

    // API tokens are no part of a sync: no faults are injected into them.

    async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        self.inner.create_api_token(token).await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        self.inner.api_tokens().await
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        self.inner.api_token_by_hash(hash).await
    }

    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken> {
        self.inner.revoke_api_token(name).await
    }

    // Push channel records are no part of a sync either.

    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>> {
        self.inner.push_channels(integration).await
    }

    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()> {
        self.inner.save_push_channel(channel).await
    }

    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>> {
        self.inner.remove_push_channel(id).await
    }

    async fn activity_cursor(&self, integration: IntegrationId) -> Result<Option<ActivityCursor>> {
        self.inner.activity_cursor(integration).await
    }

    async fn save_activity_cursor(&self, cursor: &ActivityCursor) -> Result<()> {
        self.inner.save_activity_cursor(cursor).await
    }

    async fn acquire_lease(
        &self,
        integration: IntegrationId,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        self.run(
            Operation::Lease,
            self.inner.acquire_lease(integration, holder, until, now),
        )
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.run(Operation::Lease, self.inner.release_lease(lease))
            .await
    }

    async fn renew_lease(&self, lease: &Lease, until: DateTime<Utc>) -> Result<Lease> {
        self.run(Operation::Lease, self.inner.renew_lease(lease, until))
            .await
    }

    async fn apply_fenced(&self, changes: &DirectoryChanges, fence: &Lease) -> Result<Applied> {
        self.run(Operation::Apply, self.inner.apply_fenced(changes, fence))
            .await
    }

    async fn record_ownership_fenced(
        &self,
        base: Version,
        changes: &[OwnershipChange],
        fence: &Lease,
    ) -> Result<Applied> {
        self.run(
            Operation::RecordOwnership,
            self.inner.record_ownership_fenced(base, changes, fence),
        )
        .await
    }

    async fn owned_memberships(&self, integration: IntegrationId) -> Result<Vec<OwnedMembership>> {
        self.run(
            Operation::ReadOwnership,
            self.inner.owned_memberships(integration),
        )
        .await
    }

    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>> {
        self.run(
            Operation::ReadOwnership,
            self.inner.owned_groups(integration),
        )
        .await
    }

    async fn record_ownership(
        &self,
        integration: IntegrationId,
        base: Version,
        changes: &[OwnershipChange],
    ) -> Result<Applied> {
        self.run(
            Operation::RecordOwnership,
            self.inner.record_ownership(integration, base, changes),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use dirsync_core::{
        DirectionKind, DirectoryChanges, DirectoryOp, Email, Group, GroupId, NewIntegration,
        Schedule, Version,
    };

    use super::*;
    use crate::InMemoryStore;

    async fn setup() -> (FaultyStore<InMemoryStore>, DirectoryChanges) {
        let store = FaultyStore::new(InMemoryStore::new());
        let settings = crate::conformance::fixtures::settings();
        let new = NewIntegration::new(
            "g",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
            Utc::now(),
        )
        .unwrap();
        let primary = store
            .create_integration(new)
            .await
            .unwrap()
            .into_primary()
            .unwrap();
        let mut changes = DirectoryChanges::new(&primary, Version::ZERO);
        changes.push(DirectoryOp::UpsertGroup(Group {
            id: GroupId::random(),
            integration: primary.id(),
            external_id: dirsync_core::ExternalId::new("g1").unwrap(),
            email: Email::new("g1@example.com").unwrap(),
            name: "g1".into(),
            description: String::new(),
        }));
        (store, changes)
    }

    #[tokio::test]
    async fn a_fault_before_writes_nothing() {
        let (store, changes) = setup().await;
        store.fail(Operation::Apply, FaultPoint::Before, 0, Some(1));
        let err = store.apply(&changes).await.unwrap_err();
        assert!(matches!(
            err,
            Error::Unavailable {
                backend: "faulty",
                ..
            }
        ));
        assert_eq!(
            store.version(changes.integration()).await.unwrap(),
            Version::ZERO
        );
        // The fault was used up: the retry goes through.
        assert_eq!(store.apply(&changes).await.unwrap().version, Version(1));
    }

    #[tokio::test]
    async fn a_fault_after_writes_but_reports_failure() {
        let (store, changes) = setup().await;
        store.fail(Operation::Apply, FaultPoint::After, 0, None);
        assert!(store.apply(&changes).await.is_err());
        assert_eq!(
            store.inner().version(changes.integration()).await.unwrap(),
            Version(1)
        );
        // A blind retry of the same change set is now a conflict, not a double write.
        store.heal();
        assert!(matches!(
            store.apply(&changes).await.unwrap_err(),
            Error::Conflict { .. }
        ));
    }

    #[tokio::test]
    async fn skip_and_times_count_calls_of_one_operation_only() {
        let (store, changes) = setup().await;
        store.fail(Operation::View, FaultPoint::Before, 1, Some(2));
        let id = changes.integration();
        assert!(store.view(id).await.is_ok());
        assert!(store.view(id).await.is_err());
        assert!(store.version(id).await.is_err());
        assert!(store.view(id).await.is_ok());
        assert!(
            store.users().await.is_ok(),
            "other operations are untouched"
        );
    }
}
