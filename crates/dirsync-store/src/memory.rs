//! `InMemoryStore`: the reference backend, for tests and examples.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AnyIntegration, ApiToken, DirectoryChanges, DirectoryUser, Email, ExternalId, Group,
    HeldPlan, Inbound, Integration, IntegrationId, IntegrationRecord, Membership, MembershipKey,
    NewIntegration, OrgUnit, OwnedGroup, OwnedMembership, OwnershipChange, PlanId, Primary,
    PushChannel, RunId, SyncRun, UserId, Version,
};

use crate::transaction::{self, Transaction};
use crate::{Applied, Error, Lease, LocalView, Removed, Result, Store};

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
    /// The next apply fails when it has written this many rows.
    fail_apply_at: Option<usize>,
    /// How many rows the last apply failed that way had written.
    injected_after: Option<usize>,
}

/// A previous value, restored if the transaction fails.
enum Undo {
    Integration(IntegrationId, Option<(u64, IntegrationRecord)>),
    Primary(Option<IntegrationId>),
    Version(IntegrationId, Option<Version>),
    User(UserId, Option<DirectoryUser>),
    Email(String, Option<UserId>),
    Account((IntegrationId, ExternalId), Option<Account>),
    Group((IntegrationId, ExternalId), Option<Group>),
    Membership((IntegrationId, MembershipKey), Option<Membership>),
    OrgUnit((IntegrationId, ExternalId), Option<OrgUnit>),
    Held(PlanId, Option<(u64, HeldPlan)>),
    Lease(IntegrationId, Option<Lease>),
    Owned(
        (IntegrationId, (ExternalId, String)),
        Option<OwnedMembership>,
    ),
    OwnedGroup((IntegrationId, String), Option<OwnedGroup>),
}

fn set<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, value: Option<V>) -> Option<V> {
    match value {
        Some(v) => map.insert(key, v),
        None => map.remove(&key),
    }
}

fn set_hashed<K: std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    key: K,
    value: Option<V>,
) -> Option<V> {
    match value {
        Some(v) => map.insert(key, v),
        None => map.remove(&key),
    }
}

/// A transaction over the state: writes go straight in and are logged; `rollback` restores.
struct Tx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
    /// Fail when a write finds this many writes done (see [`InMemoryStore::fail_next_apply_after`]).
    fail_at: Option<usize>,
    /// Writes (row puts and deletes) so far.
    writes: usize,
}

impl Tx<'_> {
    /// Called before each write: fails once the injected number of writes is reached.
    fn written(&mut self) -> Result<()> {
        match self.fail_at {
            Some(n) if self.writes >= n => {
                self.state.injected_after = Some(self.writes);
                Err(Error::Unavailable {
                    backend: "memory",
                    source: format!("injected failure after {n} writes").into(),
                })
            }
            _ => {
                self.writes += 1;
                Ok(())
            }
        }
    }

    fn rollback(mut self) {
        while let Some(entry) = self.undo.pop() {
            let s = &mut *self.state;
            match entry {
                Undo::Integration(k, v) => drop(set(&mut s.integrations, k, v)),
                Undo::Primary(v) => s.primary = v,
                Undo::Version(k, v) => drop(set_hashed(&mut s.versions, k, v)),
                Undo::User(k, v) => drop(set(&mut s.users, k, v)),
                Undo::Email(k, v) => drop(set_hashed(&mut s.emails, k, v)),
                Undo::Account(k, v) => drop(set(&mut s.accounts, k, v)),
                Undo::Group(k, v) => drop(set(&mut s.groups, k, v)),
                Undo::Membership(k, v) => drop(set(&mut s.memberships, k, v)),
                Undo::OrgUnit(k, v) => drop(set(&mut s.org_units, k, v)),
                Undo::Held(k, v) => drop(set(&mut s.held, k, v)),
                Undo::Lease(k, v) => drop(set_hashed(&mut s.leases, k, v)),
                Undo::Owned(k, v) => drop(set(&mut s.owned, k, v)),
                Undo::OwnedGroup(k, v) => drop(set(&mut s.owned_groups, k, v)),
            }
        }
    }

    fn set_email(&mut self, key: String, value: Option<UserId>) {
        let old = set_hashed(&mut self.state.emails, key.clone(), value);
        self.undo.push(Undo::Email(key, old));
    }

    fn set_membership(
        &mut self,
        key: (IntegrationId, MembershipKey),
        value: Option<Membership>,
    ) -> bool {
        let old = set(&mut self.state.memberships, key.clone(), value);
        let existed = old.is_some();
        self.undo.push(Undo::Membership(key, old));
        existed
    }

    /// Removes every entry of `integration` from a keyed map, logging each.
    fn purge<K: Ord + Clone, V>(
        map: &mut Keyed<K, V>,
        undo: &mut Vec<Undo>,
        integration: IntegrationId,
        log: impl Fn((IntegrationId, K), V) -> Undo,
    ) -> u64 {
        let keys: Vec<_> = map
            .keys()
            .filter(|(i, _)| *i == integration)
            .cloned()
            .collect();
        let count = keys.len() as u64;
        for key in keys {
            if let Some(v) = map.remove(&key) {
                undo.push(log(key, v));
            }
        }
        count
    }
}

impl Tx<'_> {
    fn put_user(&mut self, user: &DirectoryUser) -> Result<()> {
        self.written()?;
        let old = self.state.users.insert(user.id, user.clone());
        if let Some(previous) = &old {
            let old_key = previous.profile.primary_email.key();
            // The old address is freed, unless an earlier user of the batch took it already.
            if old_key != user.profile.primary_email.key()
                && self.state.emails.get(&old_key) == Some(&user.id)
            {
                self.set_email(old_key, None);
            }
        }
        self.undo.push(Undo::User(user.id, old));
        self.set_email(user.profile.primary_email.key(), Some(user.id));
        Ok(())
    }

    fn delete_group(&mut self, integration: IntegrationId, id: &ExternalId) -> Result<()> {
        self.written()?;
        let key = (integration, id.clone());
        let old = self.state.groups.remove(&key);
        let existed = old.is_some();
        self.undo.push(Undo::Group(key, old));
        if existed {
            let cascade: Vec<_> = self
                .state
                .memberships
                .keys()
                .filter(|(i, k)| {
                    *i == integration
                        && (&k.group == id
                            || (k.kind == dirsync_core::MemberKind::Group && &k.member == id))
                })
                .cloned()
                .collect();
            for key in cascade {
                self.set_membership(key, None);
            }
        }
        Ok(())
    }

    /// Writes `value` (or deletes, if `None`) under `key` of one of the keyed maps, counting
    /// the write and logging the old value.
    fn keyed<K: Ord + Clone, V>(
        &mut self,
        map: impl Fn(&mut State) -> &mut Keyed<K, V>,
        key: (IntegrationId, K),
        value: Option<V>,
        log: impl Fn((IntegrationId, K), Option<V>) -> Undo,
    ) -> Result<()> {
        self.written()?;
        let old = set(map(self.state), key.clone(), value);
        self.undo.push(log(key, old));
        Ok(())
    }
}

fn present<K: Ord + Clone, V>(
    map: &Keyed<K, V>,
    integration: IntegrationId,
    keys: impl IntoIterator<Item = K>,
) -> Vec<K> {
    keys.into_iter()
        .filter(|k| map.contains_key(&(integration, k.clone())))
        .collect()
}

impl Transaction for Tx<'_> {
    async fn integration(&mut self, id: IntegrationId) -> Result<Option<IntegrationRecord>> {
        Ok(self.state.integrations.get(&id).map(|(_, r)| r.clone()))
    }

    async fn primary_id(&mut self) -> Result<Option<IntegrationId>> {
        Ok(self.state.primary)
    }

    async fn insert_integration(&mut self, record: &IntegrationRecord) -> Result<()> {
        let seq = self.state.next_seq;
        self.state.next_seq += 1;
        let old = self
            .state
            .integrations
            .insert(record.id, (seq, record.clone()));
        self.undo.push(Undo::Integration(record.id, old));
        if record.role == dirsync_core::RoleKind::Primary {
            self.undo.push(Undo::Primary(self.state.primary));
            self.state.primary = Some(record.id);
        }
        Ok(())
    }

    async fn update_integration(&mut self, record: &IntegrationRecord) -> Result<()> {
        if let Some(entry) = self.state.integrations.get_mut(&record.id) {
            let old = std::mem::replace(&mut entry.1, record.clone());
            self.undo
                .push(Undo::Integration(record.id, Some((entry.0, old))));
        }
        Ok(())
    }

    async fn delete_integration(&mut self, id: IntegrationId) -> Result<Removed> {
        let s = &mut *self.state;
        let undo = &mut self.undo;
        let removed = Removed {
            accounts: Self::purge(&mut s.accounts, undo, id, |k, v| Undo::Account(k, Some(v))),
            groups: Self::purge(&mut s.groups, undo, id, |k, v| Undo::Group(k, Some(v))),
            memberships: Self::purge(&mut s.memberships, undo, id, |k, v| {
                Undo::Membership(k, Some(v))
            }),
            org_units: Self::purge(&mut s.org_units, undo, id, |k, v| Undo::OrgUnit(k, Some(v))),
            owned_memberships: Self::purge(&mut s.owned, undo, id, |k, v| Undo::Owned(k, Some(v))),
            owned_groups: Self::purge(&mut s.owned_groups, undo, id, |k, v| {
                Undo::OwnedGroup(k, Some(v))
            }),
            held_plans: {
                let ids: Vec<PlanId> = s
                    .held
                    .iter()
                    .filter(|(_, (_, p))| p.integration == id)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in &ids {
                    let old = s.held.remove(k);
                    undo.push(Undo::Held(k.clone(), old));
                }
                ids.len() as u64
            },
        };
        let old = s.integrations.remove(&id);
        undo.push(Undo::Integration(id, old));
        let old = s.versions.remove(&id);
        undo.push(Undo::Version(id, old));
        let old = s.leases.remove(&id);
        undo.push(Undo::Lease(id, old));
        if s.primary == Some(id) {
            undo.push(Undo::Primary(s.primary));
            s.primary = None;
        }
        Ok(removed)
    }

    async fn owns_objects(&mut self, id: IntegrationId) -> Result<bool> {
        let s = &*self.state;
        Ok(s.accounts.keys().any(|(i, _)| *i == id)
            || s.groups.keys().any(|(i, _)| *i == id)
            || s.memberships.keys().any(|(i, _)| *i == id)
            || s.org_units.keys().any(|(i, _)| *i == id))
    }

    async fn has_users(&mut self) -> Result<bool> {
        Ok(!self.state.users.is_empty())
    }

    async fn version(&mut self, id: IntegrationId) -> Result<Version> {
        Ok(self.state.versions.get(&id).copied().unwrap_or_default())
    }

    async fn set_version(&mut self, id: IntegrationId, version: Version) -> Result<()> {
        self.written()?;
        let old = self.state.versions.insert(id, version);
        self.undo.push(Undo::Version(id, old));
        Ok(())
    }

    async fn users(&mut self, ids: &[UserId]) -> Result<Vec<DirectoryUser>> {
        Ok(ids
            .iter()
            .filter_map(|id| self.state.users.get(id).cloned())
            .collect())
    }

    async fn user_ids_by_email(&mut self, keys: &[String]) -> Result<Vec<(String, UserId)>> {
        Ok(keys
            .iter()
            .filter_map(|k| self.state.emails.get(k).map(|id| (k.clone(), *id)))
            .collect())
    }

    async fn put_users(&mut self, users: &[DirectoryUser]) -> Result<()> {
        users.iter().try_for_each(|u| self.put_user(u))
    }

    async fn existing_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>> {
        Ok(present(
            &self.state.accounts,
            integration,
            ids.iter().map(|&i| i.clone()),
        ))
    }

    async fn put_accounts(&mut self, accounts: &[&Account]) -> Result<()> {
        for &a in accounts {
            let key = (a.integration, a.external_id.clone());
            self.keyed(|s| &mut s.accounts, key, Some(a.clone()), Undo::Account)?;
        }
        Ok(())
    }

    async fn delete_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<()> {
        for &id in ids {
            self.keyed(
                |s| &mut s.accounts,
                (integration, id.clone()),
                None,
                Undo::Account,
            )?;
        }
        Ok(())
    }

    async fn existing_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>> {
        Ok(present(
            &self.state.groups,
            integration,
            ids.iter().map(|&i| i.clone()),
        ))
    }

    async fn put_groups(&mut self, groups: &[&Group]) -> Result<()> {
        for &g in groups {
            let key = (g.integration, g.external_id.clone());
            self.keyed(|s| &mut s.groups, key, Some(g.clone()), Undo::Group)?;
        }
        Ok(())
    }

    async fn delete_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<()> {
        ids.iter()
            .try_for_each(|id| self.delete_group(integration, id))
    }

    async fn existing_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[&MembershipKey],
    ) -> Result<Vec<MembershipKey>> {
        Ok(present(
            &self.state.memberships,
            integration,
            keys.iter().map(|&k| k.clone()),
        ))
    }

    async fn put_memberships(&mut self, memberships: &[&Membership]) -> Result<()> {
        for &m in memberships {
            self.written()?;
            self.set_membership((m.integration, m.key()), Some(m.clone()));
        }
        Ok(())
    }

    async fn delete_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[MembershipKey],
    ) -> Result<()> {
        for key in keys {
            self.written()?;
            self.set_membership((integration, key.clone()), None);
        }
        Ok(())
    }

    async fn existing_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<Vec<ExternalId>> {
        Ok(present(
            &self.state.org_units,
            integration,
            ids.iter().map(|&i| i.clone()),
        ))
    }

    async fn put_org_units(&mut self, units: &[&OrgUnit]) -> Result<()> {
        for &u in units {
            let key = (u.integration, u.external_id.clone());
            self.keyed(|s| &mut s.org_units, key, Some(u.clone()), Undo::OrgUnit)?;
        }
        Ok(())
    }

    async fn delete_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> Result<()> {
        for &id in ids {
            self.keyed(
                |s| &mut s.org_units,
                (integration, id.clone()),
                None,
                Undo::OrgUnit,
            )?;
        }
        Ok(())
    }

    async fn put_owned(&mut self, owned: &[&OwnedMembership]) -> Result<()> {
        for &o in owned {
            let key = (o.integration, (o.group.clone(), o.member.key()));
            self.keyed(|s| &mut s.owned, key, Some(o.clone()), Undo::Owned)?;
        }
        Ok(())
    }

    async fn delete_owned(
        &mut self,
        integration: IntegrationId,
        keys: &[(&ExternalId, &Email)],
    ) -> Result<()> {
        for &(group, member) in keys {
            let key = (integration, (group.clone(), member.key()));
            self.keyed(|s| &mut s.owned, key, None, Undo::Owned)?;
        }
        Ok(())
    }

    async fn put_owned_groups(&mut self, owned: &[&OwnedGroup]) -> Result<()> {
        for &o in owned {
            let key = (o.integration, o.email.key());
            self.keyed(
                |s| &mut s.owned_groups,
                key,
                Some(o.clone()),
                Undo::OwnedGroup,
            )?;
        }
        Ok(())
    }

    async fn delete_owned_groups(
        &mut self,
        integration: IntegrationId,
        emails: &[&Email],
    ) -> Result<()> {
        for email in emails {
            let key = (integration, email.key());
            self.keyed(|s| &mut s.owned_groups, key, None, Undo::OwnedGroup)?;
        }
        Ok(())
    }

    async fn lease(&mut self, integration: IntegrationId) -> Result<Option<Lease>> {
        Ok(self.state.leases.get(&integration).cloned())
    }

    async fn put_lease(&mut self, lease: &Lease) -> Result<()> {
        let old = self.state.leases.insert(lease.integration, lease.clone());
        self.undo.push(Undo::Lease(lease.integration, old));
        Ok(())
    }

    async fn delete_lease(&mut self, integration: IntegrationId) -> Result<()> {
        let old = self.state.leases.remove(&integration);
        self.undo.push(Undo::Lease(integration, old));
        Ok(())
    }
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

/// An integration's runs, newest first (the later recorded first among runs that started at
/// the same instant).
fn newest_runs(state: &State, integration: IntegrationId) -> Vec<&SyncRun> {
    let mut runs: Vec<(usize, &SyncRun)> = state
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.integration == integration)
        .collect();
    runs.sort_by(|(ia, a), (ib, b)| b.started_at.cmp(&a.started_at).then(ib.cmp(ia)));
    runs.into_iter().map(|(_, r)| r).collect()
}

fn of_integration<K: Clone, V: Clone>(map: &Keyed<K, V>, id: IntegrationId) -> Vec<V> {
    map.iter()
        .filter(|((i, _), _)| *i == id)
        .map(|(_, v)| v.clone())
        .collect()
}

#[async_trait]
impl Store for InMemoryStore {
    async fn create_integration(&self, new: NewIntegration) -> Result<AnyIntegration> {
        self.transact(|tx| transaction::ready(transaction::create_integration(tx, new)))
    }

    async fn integration(&self, id: IntegrationId) -> Result<AnyIntegration> {
        let state = self.lock()?;
        let (_, record) = state
            .integrations
            .get(&id)
            .ok_or_else(|| Error::integration_not_found(id))?;
        Ok(AnyIntegration::from_record(record.clone())?)
    }

    async fn integrations(&self) -> Result<Vec<AnyIntegration>> {
        let state = self.lock()?;
        let mut records: Vec<&(u64, IntegrationRecord)> = state.integrations.values().collect();
        records.sort_by_key(|(seq, r)| (r.created_at, *seq));
        records
            .into_iter()
            .map(|(_, r)| AnyIntegration::from_record(r.clone()).map_err(Error::from))
            .collect()
    }

    async fn primary(&self) -> Result<Option<Integration<Inbound, Primary>>> {
        let state = self.lock()?;
        let Some(id) = state.primary else {
            return Ok(None);
        };
        let (_, record) = state.integrations.get(&id).ok_or_else(|| Error::Corrupt {
            backend: "memory",
            detail: format!("primary {id} has no record"),
        })?;
        Ok(AnyIntegration::from_record(record.clone())?.into_primary())
    }

    async fn save_integration(&self, integration: &AnyIntegration) -> Result<AnyIntegration> {
        self.transact(|tx| transaction::ready(transaction::save_integration(tx, integration)))
    }

    async fn remove_integration(&self, id: IntegrationId) -> Result<Removed> {
        let removed =
            self.transact(|tx| transaction::ready(transaction::remove_integration(tx, id)))?;
        self.lock()?
            .push_channels
            .retain(|_, c| c.integration != id);
        Ok(removed)
    }

    async fn view(&self, integration: IntegrationId) -> Result<LocalView> {
        let state = self.lock()?;
        if !state.integrations.contains_key(&integration) {
            return Err(Error::integration_not_found(integration));
        }
        Ok(LocalView {
            integration,
            version: state
                .versions
                .get(&integration)
                .copied()
                .unwrap_or_default(),
            accounts: of_integration(&state.accounts, integration),
            groups: of_integration(&state.groups, integration),
            memberships: of_integration(&state.memberships, integration),
            org_units: of_integration(&state.org_units, integration),
            users: state.users.values().cloned().collect(),
        })
    }

    async fn apply(&self, changes: &DirectoryChanges) -> Result<Applied> {
        self.transact(|tx| {
            tx.fail_at = tx.state.fail_apply_at.take();
            transaction::ready(transaction::apply_changes(tx, changes))
        })
    }

    async fn version(&self, integration: IntegrationId) -> Result<Version> {
        let state = self.lock()?;
        if !state.integrations.contains_key(&integration) {
            return Err(Error::integration_not_found(integration));
        }
        Ok(state
            .versions
            .get(&integration)
            .copied()
            .unwrap_or_default())
    }

    async fn users(&self) -> Result<Vec<DirectoryUser>> {
        Ok(self.lock()?.users.values().cloned().collect())
    }

    async fn user(&self, id: UserId) -> Result<Option<DirectoryUser>> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>> {
        let state = self.lock()?;
        Ok(state
            .emails
            .get(&email.key())
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn accounts_of(&self, user: UserId) -> Result<Vec<Account>> {
        let state = self.lock()?;
        Ok(state
            .accounts
            .values()
            .filter(|a| a.link.is_some_and(|l| l.user == user))
            .cloned()
            .collect())
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        let mut state = self.lock()?;
        state.runs.retain(|r| r.id != run.id);
        state.runs.push(run.clone());
        Ok(())
    }

    async fn prune_runs(
        &self,
        integration: IntegrationId,
        keep: usize,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let mut state = self.lock()?;
        let kept: Vec<RunId> = newest_runs(&state, integration)
            .into_iter()
            .take(keep.max(1))
            .enumerate()
            .filter(|(rank, r)| *rank == 0 || r.started_at >= before)
            .map(|(_, r)| r.id)
            .collect();
        let len = state.runs.len();
        state
            .runs
            .retain(|r| r.integration != integration || kept.contains(&r.id));
        Ok((len - state.runs.len()) as u64)
    }

    async fn runs(&self, integration: IntegrationId, limit: usize) -> Result<Vec<SyncRun>> {
        let state = self.lock()?;
        Ok(newest_runs(&state, integration)
            .into_iter()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn hold_plan(&self, plan: &HeldPlan) -> Result<()> {
        let mut state = self.lock()?;
        if !state.integrations.contains_key(&plan.integration) {
            return Err(Error::integration_not_found(plan.integration));
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        state.held.insert(plan.id.clone(), (seq, plan.clone()));
        Ok(())
    }

    async fn held_plan(&self, id: &PlanId) -> Result<Option<HeldPlan>> {
        Ok(self.lock()?.held.get(id).map(|(_, p)| p.clone()))
    }

    async fn held_plans(&self, integration: IntegrationId) -> Result<Vec<HeldPlan>> {
        let state = self.lock()?;
        let mut plans: Vec<&(u64, HeldPlan)> = state
            .held
            .values()
            .filter(|(_, p)| p.integration == integration)
            .collect();
        plans.sort_by_key(|(seq, p)| (p.held_at, *seq));
        Ok(plans.into_iter().map(|(_, p)| p.clone()).collect())
    }

    async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        let mut state = self.lock()?;
        if state.api_tokens.contains_key(&token.name) {
            return Err(Error::AlreadyExists {
                kind: "API token",
                id: token.name.clone(),
            });
        }
        state.api_tokens.insert(token.name.clone(), token.clone());
        Ok(())
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        Ok(self.lock()?.api_tokens.values().cloned().collect())
    }

    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        Ok(self
            .lock()?
            .api_tokens
            .values()
            .find(|t| t.hash == hash)
            .cloned())
    }

    async fn revoke_api_token(&self, name: &str) -> Result<ApiToken> {
        self.lock()?
            .api_tokens
            .remove(name)
            .ok_or_else(|| Error::NotFound {
                kind: "API token",
                id: name.to_owned(),
            })
    }

    async fn push_channels(&self, integration: IntegrationId) -> Result<Vec<PushChannel>> {
        let state = self.lock()?;
        if !state.integrations.contains_key(&integration) {
            return Err(Error::integration_not_found(integration));
        }
        let mut channels: Vec<PushChannel> = state
            .push_channels
            .values()
            .filter(|c| c.integration == integration)
            .cloned()
            .collect();
        channels.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
        Ok(channels)
    }

    async fn save_push_channel(&self, channel: &PushChannel) -> Result<()> {
        let mut state = self.lock()?;
        if !state.integrations.contains_key(&channel.integration) {
            return Err(Error::integration_not_found(channel.integration));
        }
        if state
            .push_channels
            .get(&channel.id)
            .is_some_and(|c| c.integration != channel.integration)
        {
            return Err(Error::AlreadyExists {
                kind: "push channel",
                id: channel.id.clone(),
            });
        }
        state
            .push_channels
            .insert(channel.id.clone(), channel.clone());
        Ok(())
    }

    async fn remove_push_channel(&self, id: &str) -> Result<Option<PushChannel>> {
        Ok(self.lock()?.push_channels.remove(id))
    }

    async fn release_plan(&self, id: &PlanId) -> Result<HeldPlan> {
        self.lock()?
            .held
            .remove(id)
            .map(|(_, p)| p)
            .ok_or_else(|| Error::NotFound {
                kind: "held plan",
                id: id.to_string(),
            })
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
        if !state.integrations.contains_key(&integration) {
            return Err(Error::integration_not_found(integration));
        }
        Ok(state
            .owned
            .iter()
            .filter(|((i, _), _)| *i == integration)
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn owned_groups(&self, integration: IntegrationId) -> Result<Vec<OwnedGroup>> {
        let state = self.lock()?;
        if !state.integrations.contains_key(&integration) {
            return Err(Error::integration_not_found(integration));
        }
        Ok(state
            .owned_groups
            .iter()
            .filter(|((i, _), _)| *i == integration)
            .map(|(_, v)| v.clone())
            .collect())
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
