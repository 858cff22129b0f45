//! The in-memory transaction: writes go straight into the state and are logged in an undo log,
//! which `rollback` replays backwards. The store's rules ([`crate::transaction`]) run over it.

use std::collections::{BTreeMap, HashMap};

use dirsync_core::{
    Account, DirectoryUser, Email, ExternalId, Group, HeldPlan, IntegrationId, IntegrationRecord,
    Membership, MembershipKey, OrgUnit, OwnedGroup, OwnedMembership, PlanId, UserId, Version,
};

use super::{Keyed, State};
use crate::transaction::Transaction;
use crate::{Error, Lease, Removed, Result};

/// A previous value, restored if the transaction fails.
pub(super) enum Undo {
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
pub(super) struct Tx<'a> {
    pub(super) state: &'a mut State,
    pub(super) undo: Vec<Undo>,
    /// Fail when a write finds this many writes done (see [`InMemoryStore::fail_next_apply_after`]).
    pub(super) fail_at: Option<usize>,
    /// Writes (row puts and deletes) so far.
    pub(super) writes: usize,
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

    pub(super) fn rollback(mut self) {
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
