//! `InMemoryStore`: the reference backend, for tests and examples.
//!
//! The state is one struct behind one mutex; [`Store`] is implemented here by handing each
//! operation to the file of its record kind (integrations, the directory, runs, held plans,
//! API tokens, push channels and activity cursors); leases and ownership records are
//! written only through the store's transactional rules, and the store's transactional rules run over
//! the undo-logged transaction of [`tx`].

mod directory;
mod integrations;
mod plans;
mod push;
mod runs;
mod tokens;
mod tx;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, ActivityCursor, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email,
    ExternalId, Group, HeldPlan, Inbound, Integration, IntegrationId, IntegrationRecord,
    Membership, MembershipKey, NewIntegration, OrgUnit, OwnedGroup, OwnedMembership,
    OwnershipChange, PlanId, Primary, PushChannel, SyncRun, UserId, Version,
};

use crate::transaction;
use crate::{Applied, Error, Lease, LocalView, Removed, Result, Store};
use tx::Tx;

type Keyed<K, V> = BTreeMap<(IntegrationId, K), V>;

#[derive(Debug, Default)]
struct State {
    /// Records with their insertion sequence (creation order).
    integrations: BTreeMap<IntegrationId, (u64, IntegrationRecord)>,
    next_seq: u64,
    primary: Option<IntegrationId>,
    versions: HashMap<IntegrationId, Version>,
    users: BTreeMap<UserId, DirectoryUser>,
    emails: HashMap<String, UserId>,
    accounts: Keyed<ExternalId, Account>,
    groups: Keyed<ExternalId, Group>,
    memberships: Keyed<MembershipKey, Membership>,
    org_units: Keyed<ExternalId, OrgUnit>,
    runs: Vec<SyncRun>,
    held: BTreeMap<PlanId, (u64, HeldPlan)>,
    leases: HashMap<IntegrationId, Lease>,
    /// Outbound ownership records by (integration, (group id, member email key)).
    owned: Keyed<(ExternalId, String), OwnedMembership>,
    /// Group ownership records by (integration, group email key).
    owned_groups: Keyed<String, OwnedGroup>,
    /// API token records by name.
    api_tokens: BTreeMap<String, ApiToken>,
    /// Push channel records by id.
    push_channels: BTreeMap<String, PushChannel>,
    /// Activity cursors by integration.
    activity_cursors: HashMap<IntegrationId, ActivityCursor>,
    /// The next apply fails when it has written this many rows.
    fail_apply_at: Option<usize>,
    /// How many rows the last apply failed that way had written.
    injected_after: Option<usize>,
}

impl State {
    /// `NotFound` unless `integration` exists.
    fn known(&self, integration: IntegrationId) -> Result<()> {
        if self.integrations.contains_key(&integration) {
            Ok(())
        } else {
            Err(Error::integration_not_found(integration))
        }
    }
}

/// The values of one integration's entries of a keyed map.
fn of_integration<K: Clone, V: Clone>(map: &Keyed<K, V>, id: IntegrationId) -> Vec<V> {
    map.iter()
        .filter(|((i, _), _)| *i == id)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The in-memory backend: every contract of [`Store`] with nothing persisted. The reference
/// for other backends, the fake for engine tests, and the store of the examples.
///
/// One mutex serializes all operations, so every operation is atomic and isolated; a failed
/// apply is rolled back from an undo log.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fault injection *inside* the real apply, for tests of half-written applies: the next
    /// [`apply`](Store::apply) fails with `Unavailable` when it is about to write a row after
    /// `writes` rows (0 fails before any), and rolls back what it wrote. An apply that writes
    /// fewer rows succeeds and leaves the fault armed for none (it is one-shot).
    ///
    /// # Errors
    /// `Unavailable` if the store's lock was poisoned.
    pub fn fail_next_apply_after(&self, writes: usize) -> Result<()> {
        let mut state = self.lock()?;
        state.fail_apply_at = Some(writes);
        state.injected_after = None;
        Ok(())
    }

    /// How many rows the apply that last failed by
    /// [`fail_next_apply_after`](Self::fail_next_apply_after) had written before it failed
    /// (and rolled back); `None` if none failed that way.
    ///
    /// # Errors
    /// `Unavailable` if the store's lock was poisoned.
    pub fn injected_apply_failure(&self) -> Result<Option<usize>> {
        Ok(self.lock()?.injected_after)
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| Error::Unavailable {
            backend: "memory",
            source: "the store's lock was poisoned by a panic in another thread".into(),
        })
    }

    /// Runs `f` in a transaction: committed if it returns `Ok`, rolled back otherwise.
    fn transact<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.lock()?;
        let mut tx = Tx {
            state: &mut guard,
            undo: Vec::new(),
            fail_at: None,
            writes: 0,
        };
        match f(&mut tx) {
            Ok(value) => Ok(value),
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        }
    }
}

#[async_trait]
impl Store for InMemoryStore {
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration> {
        self.transact(|tx| transaction::ready(transaction::create_integration(tx, new)))
    }

    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration> {
        integrations::one(&*self.lock()?, id)
    }

    async fn integrations(&self) -> Result<Vec<AnyIntegration>> {
        integrations::all(&*self.lock()?)
    }

    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>> {
        integrations::primary(&*self.lock()?)
    }

    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration> {
        self.transact(|tx| transaction::ready(transaction::save_integration(tx, integration)))
    }

    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed> {
        let removed =
            self.transact(|tx| transaction::ready(transaction::remove_integration(tx, id)))?;
        push::forget_integration(&mut *self.lock()?, id);
        Ok(removed)
    }

    async fn view(&self, integration: IntegrationId) -> Result<LocalView> {
        directory::view(&*self.lock()?, integration)
    }

    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied> {
        self.transact(|tx| {
            tx.fail_at = tx.state.fail_apply_at.take();
            transaction::ready(transaction::apply_changes(tx, changes))
        })
    }

    async fn version(&self, integration: IntegrationId) -> Result<Version> {
        integrations::version(&*self.lock()?, integration)
    }

    async fn users(&self) -> Result<Vec<DirectoryUser>> {
        Ok(self.lock()?.users.values().cloned().collect())
    }

    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        Ok(directory::user_by_email(&*self.lock()?, email))
    }

    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>> {
        Ok(directory::accounts_of(&*self.lock()?, user))
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        runs::record(&mut *self.lock()?, run);
        Ok(())
    }

    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(runs::prune(&mut *self.lock()?, integration, keep, before))
    }

    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>> {
        Ok(runs::newest(&*self.lock()?, integration, limit))
    }

    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()> {
        plans::hold(&mut *self.lock()?, plan)
    }

    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>> {
        Ok(self.lock()?.held.get(id).map(|(_, p)| p.clone()))
    }

    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>> {
        Ok(plans::of_integration(&*self.lock()?, integration))
    }

    async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        tokens::create(&mut *self.lock()?, token)
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        Ok(self.lock()?.api_tokens.values().cloned().collect())
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        Ok(tokens::by_hash(&*self.lock()?, hash))
    }

    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken> {
        tokens::revoke(&mut *self.lock()?, name)
    }

    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>> {
        push::channels(&*self.lock()?, integration)
    }

    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()> {
        push::save_channel(&mut *self.lock()?, channel)
    }

    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>> {
        Ok(self.lock()?.push_channels.remove(id))
    }

    async fn activity_cursor(&self, integration: IntegrationId) -> Result<Option<ActivityCursor>> {
        push::activity_cursor(&*self.lock()?, integration)
    }

    async fn save_activity_cursor(&self, cursor: &ActivityCursor) -> Result<()> {
        push::save_activity_cursor(&mut *self.lock()?, cursor)
    }

    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan> {
        plans::release(&mut *self.lock()?, id)
    }

    async fn acquire_lease(
        &self,
        integration: IntegrationId,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        self.transact(|tx| {
            transaction::ready(transaction::acquire_lease(
                tx,
                integration,
                holder,
                until,
                now,
            ))
        })
    }

    async fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.transact(|tx| transaction::ready(transaction::release_lease(tx, lease)))
    }

    async fn renew_lease(&self, lease: &Lease, until: DateTime<Utc>) -> Result<Lease> {
        self.transact(|tx| transaction::ready(transaction::renew_lease(tx, lease, until)))
    }

    async fn apply_fenced(&self, changes: &DirectoryChanges, fence: &Lease) -> Result<Applied> {
        self.transact(|tx| {
            transaction::ready(transaction::check_fence(tx, fence))?;
            tx.fail_at = tx.state.fail_apply_at.take();
            transaction::ready(transaction::apply_changes(tx, changes))
        })
    }

    async fn record_ownership_fenced(
        &self,
        base: Version,
        changes: &[OwnershipChange],
        fence: &Lease,
    ) -> Result<Applied> {
        self.transact(|tx| {
            transaction::ready(transaction::check_fence(tx, fence))?;
            transaction::ready(transaction::record_ownership(
                tx,
                fence.integration,
                base,
                changes,
            ))
        })
    }

    async fn owned_memberships(&self, integration: IntegrationId) -> Result<Vec<OwnedMembership>> {
        let state = self.lock()?;
        state.known(integration)?;
        Ok(of_integration(&state.owned, integration))
    }

    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>> {
        let state = self.lock()?;
        state.known(integration)?;
        Ok(of_integration(&state.owned_groups, integration))
    }

    async fn record_ownership(
        &self,
        integration: IntegrationId,
        base: Version,
        changes: &[OwnershipChange],
    ) -> Result<Applied> {
        self.transact(|tx| {
            transaction::ready(transaction::record_ownership(
                tx,
                integration,
                base,
                changes,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::InMemoryStore;
    use crate::Store;

    crate::conformance_tests!(|| async { Arc::new(InMemoryStore::new()) as Arc<dyn Store> });
}
