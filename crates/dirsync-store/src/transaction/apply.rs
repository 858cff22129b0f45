//! The apply rule: checks, then every operation validated in order against bulk reads and the
//! pending writes, then bulk writes by kind.

// foldhash, not SipHash: an apply hashes every id it names several times (measured: ~9 % of
// an initial apply's samples were SipHash).
use foldhash::{HashMap, HashSet, HashSetExt};

use dirsync_core::{
    Account, DirectionKind, DirectoryChanges, DirectoryOp, DirectoryUser, ExternalId, Group,
    IntegrationId, MemberKind, Membership, MembershipKey, OrgUnit, ProfileChange, UserId,
};

use super::Transaction;
use super::staged::{Slot, Staged};
use crate::{Applied, Error, Result};

/// A membership's key, borrowed from the change set: (group, member kind, member id).
type MemberKey<'c> = (&'c ExternalId, MemberKind, &'c ExternalId);

/// Applies a change set: integration and direction check, primary check for profile
/// operations, version check, then every operation in order, then the version bump.
///
/// The store is read in bulk once (the users, emails and objects the operations name), every
/// operation is checked in order against those reads and the writes of the operations before
/// it, and the result is written in bulk, kind by kind, in an order that gives the same final
/// state as writing each operation at once (group deletions with their cascades first, then
/// other deletions, then users, groups, memberships, accounts and org units).
///
/// # Errors
/// `NotFound`, `NotInbound`, `NotPrimary`, `Conflict`, `InvalidChange`.
pub async fn apply_changes(
    tx: &mut impl Transaction,
    changes: &DirectoryChanges,
) -> Result<Applied> {
    let id = changes.integration();
    let record = tx
        .integration(id)
        .await?
        .ok_or_else(|| Error::integration_not_found(id))?;
    if record.direction != DirectionKind::Inbound {
        return Err(Error::NotInbound { integration: id });
    }
    if changes.touches_profiles() && tx.primary_id().await? != Some(id) {
        return Err(Error::NotPrimary { integration: id });
    }
    let actual = tx.version(id).await?;
    if actual != changes.base() {
        return Err(Error::Conflict {
            integration: id,
            expected: changes.base(),
            actual,
        });
    }
    if changes.is_empty() {
        return Ok(Applied {
            version: actual,
            ops: 0,
        });
    }
    let mut pending = Pending::read(tx, id, changes.ops()).await?;
    for (index, op) in changes.ops().iter().enumerate() {
        pending
            .op(op)
            .map_err(|reason| Error::InvalidChange { index, reason })?;
    }
    pending.write(tx).await?;
    let version = actual.next();
    tx.set_version(id, version).await?;
    Ok(Applied {
        version,
        ops: changes.ops().len(),
    })
}

/// What the store holds of the objects a change set names, and the change set's writes so far.
struct Pending<'c> {
    integration: IntegrationId,
    /// Users as they are after the writes so far (read from the store, then written).
    users: HashMap<UserId, DirectoryUser>,
    /// The owner of each email key the change set names, after the writes so far.
    emails: HashMap<String, Option<UserId>>,
    /// Every user write, in order.
    user_writes: Vec<DirectoryUser>,
    stored_accounts: HashSet<ExternalId>,
    accounts: Staged<&'c ExternalId, &'c Account>,
    stored_groups: HashSet<ExternalId>,
    groups: Staged<&'c ExternalId, &'c Group>,
    /// Groups deleted so far, in order: their memberships went with them.
    deleted_groups: Vec<&'c ExternalId>,
    deleted_group_set: HashSet<&'c ExternalId>,
    stored_memberships: HashSet<MembershipKey>,
    memberships: Staged<MemberKey<'c>, &'c Membership>,
    stored_org_units: HashSet<ExternalId>,
    org_units: Staged<&'c ExternalId, &'c OrgUnit>,
}

fn same_integration(id: IntegrationId, of: IntegrationId, what: &str) -> Result<(), String> {
    if id == of {
        Ok(())
    } else {
        Err(format!("{what} belongs to integration {of}, not {id}"))
    }
}

impl<'c> Pending<'c> {
    /// Reads, in bulk, what checking `ops` needs: the users they name, the owners of the
    /// emails they set, and whether the objects they remove or group into exist.
    async fn read(
        tx: &mut impl Transaction,
        integration: IntegrationId,
        ops: &'c [DirectoryOp],
    ) -> Result<Self> {
        let mut user_ids = HashSet::new();
        let mut email_keys = HashSet::new();
        let (mut accounts, mut groups, mut org_units) = (Vec::new(), Vec::new(), Vec::new());
        let mut memberships = Vec::new();
        // Each kind's operations: its pending writes' map is sized once, not grown by doubling.
        let mut writes = Writes::default();
        for op in ops {
            writes.count(op);
            match op {
                DirectoryOp::UpsertAccount(a) => user_ids.extend(a.link.map(|l| l.user)),
                DirectoryOp::RemoveAccount { external_id } => accounts.push(external_id),
                DirectoryOp::RemoveGroup { external_id } => groups.push(external_id),
                DirectoryOp::UpsertMembership(m) => groups.push(&m.group),
                DirectoryOp::RemoveMembership(key) => memberships.push(key),
                DirectoryOp::RemoveOrgUnit { external_id } => org_units.push(external_id),
                DirectoryOp::Profile(p) => match p.change() {
                    ProfileChange::CreateUser { user, profile, .. }
                    | ProfileChange::UpdateProfile { user, profile } => {
                        user_ids.insert(*user);
                        email_keys.insert(profile.primary_email.key());
                    }
                    ProfileChange::Lifecycle { user, .. } => {
                        user_ids.insert(*user);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        dedup(&mut accounts);
        dedup(&mut groups);
        dedup(&mut org_units);
        dedup(&mut memberships);
        let user_ids: Vec<UserId> = user_ids.into_iter().collect();
        let email_keys: Vec<String> = email_keys.into_iter().collect();
        let users: HashMap<UserId, DirectoryUser> = tx
            .users(&user_ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let mut emails: HashMap<String, Option<UserId>> =
            email_keys.iter().map(|k| (k.clone(), None)).collect();
        emails.extend(
            tx.user_ids_by_email(&email_keys)
                .await?
                .into_iter()
                .map(|(key, user)| (key, Some(user))),
        );
        // The users read own their emails too (a user changing email frees the old one).
        for user in users.values() {
            emails.insert(user.profile.primary_email.key(), Some(user.id));
        }
        Ok(Self {
            integration,
            users,
            emails,
            user_writes: Vec::with_capacity(writes.users),
            stored_accounts: set(tx.existing_accounts(integration, &accounts).await?),
            accounts: Staged::with_capacity(writes.accounts),
            stored_groups: set(tx.existing_groups(integration, &groups).await?),
            groups: Staged::with_capacity(writes.groups),
            deleted_groups: Vec::new(),
            deleted_group_set: HashSet::new(),
            stored_memberships: set(tx.existing_memberships(integration, &memberships).await?),
            memberships: Staged::with_capacity(writes.memberships),
            stored_org_units: set(tx.existing_org_units(integration, &org_units).await?),
            org_units: Staged::with_capacity(writes.org_units),
        })
    }

    /// Checks one operation against the state so far and records its writes; `Err` is why it
    /// is invalid.
    fn op(&mut self, op: &'c DirectoryOp) -> Result<(), String> {
        let id = self.integration;
        match op {
            DirectoryOp::UpsertAccount(account) => {
                same_integration(id, account.integration, "account")?;
                if let Some(link) = &account.link
                    && !self.users.contains_key(&link.user)
                {
                    return Err(format!(
                        "account {} links to unknown user {}",
                        account.external_id, link.user
                    ));
                }
                self.accounts.set(&account.external_id, Slot::Put(account));
            }
            DirectoryOp::RemoveAccount { external_id } => {
                let stored = &self.stored_accounts;
                if !self
                    .accounts
                    .exists(&external_id, || stored.contains(external_id))
                {
                    return Err(format!("no account {external_id} to remove"));
                }
                self.accounts.set(external_id, Slot::Deleted);
            }
            DirectoryOp::UpsertGroup(group) => {
                same_integration(id, group.integration, "group")?;
                self.groups.set(&group.external_id, Slot::Put(group));
            }
            DirectoryOp::RemoveGroup { external_id } => {
                if !self.has_group(external_id) {
                    return Err(format!("no group {external_id} to remove"));
                }
                self.groups.set(external_id, Slot::Deleted);
                if self.deleted_group_set.insert(external_id) {
                    self.deleted_groups.push(external_id);
                }
                self.memberships.delete_where(|(group, kind, member)| {
                    *group == external_id || (*kind == MemberKind::Group && *member == external_id)
                });
            }
            DirectoryOp::UpsertMembership(membership) => {
                same_integration(id, membership.integration, "membership")?;
                if !self.has_group(&membership.group) {
                    return Err(format!("membership in unknown group {}", membership.group));
                }
                let key = (
                    &membership.group,
                    membership.member.kind,
                    &membership.member.external_id,
                );
                self.memberships.set(key, Slot::Put(membership));
            }
            DirectoryOp::RemoveMembership(key) => {
                let borrowed = (&key.group, key.kind, &key.member);
                let cascaded = self.deleted_group_set.contains(&key.group)
                    || (key.kind == MemberKind::Group
                        && self.deleted_group_set.contains(&key.member));
                let stored = &self.stored_memberships;
                if !self
                    .memberships
                    .exists(&borrowed, || !cascaded && stored.contains(key))
                {
                    return Err(format!(
                        "no membership of {} in {} to remove",
                        key.member, key.group
                    ));
                }
                self.memberships.set(borrowed, Slot::Deleted);
            }
            DirectoryOp::UpsertOrgUnit(unit) => {
                same_integration(id, unit.integration, "org unit")?;
                self.org_units.set(&unit.external_id, Slot::Put(unit));
            }
            DirectoryOp::RemoveOrgUnit { external_id } => {
                let stored = &self.stored_org_units;
                if !self
                    .org_units
                    .exists(&external_id, || stored.contains(external_id))
                {
                    return Err(format!("no org unit {external_id} to remove"));
                }
                self.org_units.set(external_id, Slot::Deleted);
            }
            DirectoryOp::Profile(op) => self.profile(op.change())?,
            _ => return Err("an operation this store does not know".to_owned()),
        }
        Ok(())
    }

    fn has_group(&self, id: &'c ExternalId) -> bool {
        let stored = !self.deleted_group_set.contains(id) && self.stored_groups.contains(id);
        self.groups.exists(&id, || stored)
    }

    fn email_free_for(&self, email_key: &str, user: UserId) -> Result<(), String> {
        match self.emails.get(email_key).copied().flatten() {
            Some(other) if other != user => {
                Err(format!("email {email_key} is already used by user {other}"))
            }
            _ => Ok(()),
        }
    }

    fn profile(&mut self, change: &ProfileChange) -> Result<(), String> {
        let written = match change {
            ProfileChange::CreateUser {
                user,
                profile,
                event,
            } => {
                if self.users.contains_key(user) {
                    return Err(format!("user {user} already exists"));
                }
                self.email_free_for(&profile.primary_email.key(), *user)?;
                DirectoryUser::provisioned(*user, profile.clone(), event.clone())
                    .map_err(|e| e.to_string())?
            }
            ProfileChange::UpdateProfile { user, profile } => {
                let Some(existing) = self.users.get(user) else {
                    return Err(format!("no user {user} to update"));
                };
                self.email_free_for(&profile.primary_email.key(), *user)?;
                let mut updated = existing.clone();
                updated.profile = profile.clone();
                updated
            }
            ProfileChange::Lifecycle { user, event } => {
                let Some(existing) = self.users.get(user) else {
                    return Err(format!("no user {user} for a lifecycle change"));
                };
                let mut updated = existing.clone();
                updated
                    .apply_lifecycle(event.clone())
                    .map_err(|e| e.to_string())?;
                updated
            }
            _ => return Err("a profile change this store does not know".to_owned()),
        };
        let key = written.profile.primary_email.key();
        if let Some(previous) = self.users.get(&written.id) {
            let old = previous.profile.primary_email.key();
            if old != key {
                self.emails.insert(old, None);
            }
        }
        self.emails.insert(key, Some(written.id));
        self.users.insert(written.id, written.clone());
        self.user_writes.push(written);
        Ok(())
    }

    /// Writes the final state in bulk: group deletions (with their cascades), the other
    /// deletions, then users, groups, memberships, accounts and org units.
    async fn write(self, tx: &mut impl Transaction) -> Result<()> {
        let id = self.integration;
        tx.delete_groups(id, &self.deleted_groups).await?;
        let (membership_puts, membership_deletes) = self.memberships.into_writes();
        let membership_deletes: Vec<MembershipKey> = membership_deletes
            .into_iter()
            .map(|(group, kind, member)| MembershipKey {
                group: group.clone(),
                kind,
                member: member.clone(),
            })
            .collect();
        tx.delete_memberships(id, &membership_deletes).await?;
        let (account_puts, account_deletes) = self.accounts.into_writes();
        tx.delete_accounts(id, &account_deletes).await?;
        let (unit_puts, unit_deletes) = self.org_units.into_writes();
        tx.delete_org_units(id, &unit_deletes).await?;
        tx.put_users(&self.user_writes).await?;
        // Deleted groups went first, with their memberships.
        let (group_puts, _) = self.groups.into_writes();
        tx.put_groups(&group_puts).await?;
        tx.put_memberships(&membership_puts).await?;
        tx.put_accounts(&account_puts).await?;
        tx.put_org_units(&unit_puts).await?;
        Ok(())
    }
}

/// How many operations of a change set write each kind.
#[derive(Default)]
struct Writes {
    users: usize,
    accounts: usize,
    groups: usize,
    memberships: usize,
    org_units: usize,
}

impl Writes {
    fn count(&mut self, op: &DirectoryOp) {
        let kind = match op {
            DirectoryOp::Profile(_) => &mut self.users,
            DirectoryOp::UpsertAccount(_) | DirectoryOp::RemoveAccount { .. } => &mut self.accounts,
            DirectoryOp::UpsertGroup(_) | DirectoryOp::RemoveGroup { .. } => &mut self.groups,
            DirectoryOp::UpsertMembership(_) | DirectoryOp::RemoveMembership(_) => {
                &mut self.memberships
            }
            DirectoryOp::UpsertOrgUnit(_) | DirectoryOp::RemoveOrgUnit { .. } => {
                &mut self.org_units
            }
            _ => return,
        };
        *kind += 1;
    }
}

fn dedup<T: Ord>(items: &mut Vec<T>) {
    items.sort_unstable();
    items.dedup();
}

fn set<T: std::hash::Hash + Eq>(items: Vec<T>) -> HashSet<T> {
    items.into_iter().collect()
}
