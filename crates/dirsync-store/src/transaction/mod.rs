//! The store's rules, written once over a small set of async, batched primitives.
//!
//! A backend implements [`Transaction`] (plain reads and writes inside one of its own
//! transactions) and calls the functions of this module from its [`Store`](crate::Store)
//! methods. The rules — primary election, immutable fields, version checks, validation of every
//! operation, what removal takes with it, leases and fencing — therefore live in one place, and
//! every backend enforces exactly the same ones. The conformance suite checks the primitives.
//!
//! The primitives are async, so a backend over a network driver implements them without
//! blocking, and they take batches: [`apply_changes`] reads what its checks need in a few bulk
//! reads, validates every operation in order against those reads and its own pending writes
//! (so an operation sees the effect of the ones before it, exactly as if each were written at
//! once), and then writes in bulk, by kind: one round trip per kind, not one per row. A backend
//! whose primitives never wait (memory, SQLite on its blocking thread) may drive these futures
//! with [`ready`], on the thread that holds their transaction.
//!
//! The functions return on the first error; the backend then rolls its transaction back, so an
//! error never leaves a partial write.

use foldhash::{HashMap, HashMapExt};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AnyIntegration, DirectionKind, DirectoryUser, Email, ExternalId, Group, IntegrationId,
    IntegrationRecord, Membership, MembershipKey, NewIntegration, OrgUnit, OwnedGroup,
    OwnedMembership, OwnershipChange, RoleKind, UserId, Version,
};

use crate::{Applied, Error, Lease, Removed, Result};

mod apply;
mod staged;

pub use apply::apply_changes;

/// The primitive reads and writes a backend offers inside one transaction.
///
/// Writes are unconditional (the rules are checked by this module's functions). Batched writes
/// come with at most one entry per key, except [`put_users`](Transaction::put_users), whose
/// entries are in the order the rules wrote them and must be written in that order (a user may
/// come twice; the later entry wins, and an email may move from one user to another within the
/// batch). Batched reads return only what exists, in any order.
///
/// Every method returns a `Send` future, so that the rules run in any async task.
pub trait Transaction: Send {
    /// One integration's record.
    fn integration(
        &mut self,
        id: IntegrationId,
    ) -> impl Future<Output = Result<Option<IntegrationRecord>>> + Send;
    /// The recorded primary.
    fn primary_id(&mut self) -> impl Future<Output = Result<Option<IntegrationId>>> + Send;
    /// Inserts a new integration (and records it as primary if its role says so). A backend
    /// that can race (several connections) must refuse a second primary itself, atomically
    /// (e.g. a partial unique index), with [`Error::Unavailable`] or by retrying the rule.
    fn insert_integration(
        &mut self,
        record: &IntegrationRecord,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Replaces an integration's record.
    fn update_integration(
        &mut self,
        record: &IntegrationRecord,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes an integration and everything it owns (accounts, groups, memberships, org units,
    /// held plans, ownership records, version, lease), clearing the primary mark if it had it.
    /// Run records stay.
    fn delete_integration(
        &mut self,
        id: IntegrationId,
    ) -> impl Future<Output = Result<Removed>> + Send;
    /// Whether the integration has accounts, groups, memberships or org units.
    fn owns_objects(&mut self, id: IntegrationId) -> impl Future<Output = Result<bool>> + Send;
    /// Whether the directory has any user.
    fn has_users(&mut self) -> impl Future<Output = Result<bool>> + Send;
    /// The version of an integration's data (`Version::ZERO` before its first apply).
    fn version(&mut self, id: IntegrationId) -> impl Future<Output = Result<Version>> + Send;
    /// Sets the version of an integration's data.
    fn set_version(
        &mut self,
        id: IntegrationId,
        version: Version,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The directory users among `ids` that exist.
    fn users(&mut self, ids: &[UserId]) -> impl Future<Output = Result<Vec<DirectoryUser>>> + Send;
    /// The users whose email key ([`Email::key`]) is among `keys`, as (key, user) pairs.
    fn user_ids_by_email(
        &mut self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<(String, UserId)>>> + Send;
    /// Inserts or replaces directory users, in order (see the trait's documentation).
    /// Implementations keep a case-insensitive email index in step with the users.
    fn put_users(&mut self, users: &[DirectoryUser]) -> impl Future<Output = Result<()>> + Send;

    /// The accounts of `integration` among `ids` that exist.
    fn existing_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<Vec<ExternalId>>> + Send;
    /// Inserts or replaces accounts (keyed by integration and remote id).
    fn put_accounts(&mut self, accounts: &[&Account]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes accounts (those that do not exist are skipped).
    fn delete_accounts(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<()>> + Send;

    /// The groups of `integration` among `ids` that exist.
    fn existing_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<Vec<ExternalId>>> + Send;
    /// Inserts or replaces groups (keyed by integration and remote id).
    fn put_groups(&mut self, groups: &[&Group]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes groups, each with the integration's memberships in it and of it as a nested
    /// member (those that do not exist are skipped).
    fn delete_groups(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<()>> + Send;

    /// The memberships of `integration` among `keys` that exist.
    fn existing_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[&MembershipKey],
    ) -> impl Future<Output = Result<Vec<MembershipKey>>> + Send;
    /// Inserts or replaces memberships (keyed by integration and [`MembershipKey`]); their
    /// groups exist.
    fn put_memberships(
        &mut self,
        memberships: &[&Membership],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes memberships (those that do not exist are skipped).
    fn delete_memberships(
        &mut self,
        integration: IntegrationId,
        keys: &[MembershipKey],
    ) -> impl Future<Output = Result<()>> + Send;

    /// The org units of `integration` among `ids` that exist.
    fn existing_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<Vec<ExternalId>>> + Send;
    /// Inserts or replaces org units (keyed by integration and remote id).
    fn put_org_units(&mut self, units: &[&OrgUnit]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes org units (those that do not exist are skipped).
    fn delete_org_units(
        &mut self,
        integration: IntegrationId,
        ids: &[&ExternalId],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Writes ownership records (each replacing the one for the same integration, group and
    /// member, whose email compares ignoring ASCII case).
    fn put_owned(&mut self, owned: &[&OwnedMembership]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes ownership records by (group, member) (those that do not exist are skipped).
    fn delete_owned(
        &mut self,
        integration: IntegrationId,
        keys: &[(&ExternalId, &Email)],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Writes group ownership records (each replacing the one for the same integration and
    /// group email, compared ignoring ASCII case).
    fn put_owned_groups(
        &mut self,
        owned: &[&OwnedGroup],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes group ownership records by email (those that do not exist are skipped).
    fn delete_owned_groups(
        &mut self,
        integration: IntegrationId,
        emails: &[&Email],
    ) -> impl Future<Output = Result<()>> + Send;

    /// The integration's lease, if any (expired or not). A backend with concurrent writers
    /// locks the row (or the integration) until the transaction ends, so that two acquirers
    /// never both see it free.
    fn lease(
        &mut self,
        integration: IntegrationId,
    ) -> impl Future<Output = Result<Option<Lease>>> + Send;
    /// Inserts or replaces the integration's lease.
    fn put_lease(&mut self, lease: &Lease) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the integration's lease.
    fn delete_lease(
        &mut self,
        integration: IntegrationId,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Runs a rule to its end over primitives that never wait (they do their work when called, as
/// those of a backend over memory or a blocking driver do), synchronously, on the calling
/// thread: no executor, so it may be called from inside any async task or blocking thread.
///
/// # Errors
/// The rule's error; [`Error::Unavailable`] if a primitive did wait (a bug of the backend).
pub fn ready<T>(rule: impl Future<Output = Result<T>>) -> Result<T> {
    match pin!(rule).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(Error::Unavailable {
            backend: "store",
            source: "a transaction primitive waited where none may".into(),
        }),
    }
}

/// Creates an integration: the first inbound integration becomes the primary.
///
/// # Errors
/// `AlreadyExists` if an integration with the same id exists.
pub async fn create_integration(
    tx: &mut impl Transaction,
    new: NewIntegration,
) -> Result<AnyIntegration> {
    if tx.integration(new.id()).await?.is_some() {
        return Err(Error::AlreadyExists {
            kind: "integration",
            id: new.id().to_string(),
        });
    }
    let role = if new.direction() == DirectionKind::Inbound && tx.primary_id().await?.is_none() {
        RoleKind::Primary
    } else {
        RoleKind::Secondary
    };
    let record = new.into_record(role);
    tx.insert_integration(&record).await?;
    Ok(AnyIntegration::from_record(record)?)
}

/// Saves an integration's mutable fields, checking immutable ones and the revision.
///
/// # Errors
/// `NotFound`, `Immutable` (direction, role, system, created_at), `StaleIntegration`.
pub async fn save_integration(
    tx: &mut impl Transaction,
    integration: &AnyIntegration,
) -> Result<AnyIntegration> {
    let new = integration.record();
    let stored = tx
        .integration(new.id)
        .await?
        .ok_or_else(|| Error::integration_not_found(new.id))?;
    let immutable = |field| Error::Immutable {
        integration: new.id,
        field,
    };
    if stored.direction != new.direction {
        return Err(immutable("direction"));
    }
    if stored.role != new.role {
        return Err(immutable("role"));
    }
    if stored.settings.system() != new.settings.system() {
        return Err(immutable("system"));
    }
    if stored.created_at != new.created_at {
        return Err(immutable("created_at"));
    }
    if stored.revision != new.revision {
        return Err(Error::StaleIntegration {
            integration: new.id,
            expected: new.revision,
            actual: stored.revision,
        });
    }
    let mut record = new.clone();
    record.revision = stored.revision.saturating_add(1);
    tx.update_integration(&record).await?;
    Ok(AnyIntegration::from_record(record)?)
}

/// Removes an integration and what it owns; refuses the primary while it owns data.
///
/// # Errors
/// `NotFound`, `PrimaryOwnsData`.
pub async fn remove_integration(tx: &mut impl Transaction, id: IntegrationId) -> Result<Removed> {
    if tx.integration(id).await?.is_none() {
        return Err(Error::integration_not_found(id));
    }
    if tx.primary_id().await? == Some(id) && (tx.owns_objects(id).await? || tx.has_users().await?) {
        return Err(Error::PrimaryOwnsData { integration: id });
    }
    tx.delete_integration(id).await
}

/// Records an outbound apply's ownership changes: outbound check, version check, every change,
/// then the version bump.
///
/// # Errors
/// `NotFound`, `NotOutbound`, `Conflict`, `InvalidChange` (a claim for another integration).
pub async fn record_ownership(
    tx: &mut impl Transaction,
    id: IntegrationId,
    base: Version,
    changes: &[OwnershipChange],
) -> Result<Applied> {
    let record = tx
        .integration(id)
        .await?
        .ok_or_else(|| Error::integration_not_found(id))?;
    if record.direction != DirectionKind::Outbound {
        return Err(Error::NotOutbound { integration: id });
    }
    let actual = tx.version(id).await?;
    if actual != base {
        return Err(Error::Conflict {
            integration: id,
            expected: base,
            actual,
        });
    }
    if changes.is_empty() {
        return Ok(Applied {
            version: actual,
            ops: 0,
        });
    }
    // The final state of each (group, member) and each group record: the last change to it
    // wins.
    let mut last: HashMap<(&ExternalId, String), &OwnershipChange> = HashMap::new();
    let mut last_group: HashMap<String, &OwnershipChange> = HashMap::new();
    for (index, change) in changes.iter().enumerate() {
        let foreign = |of: IntegrationId| Error::InvalidChange {
            index,
            reason: format!("ownership record of integration {of} in a change of {id}"),
        };
        match change {
            OwnershipChange::Claim(owned) => {
                if owned.integration != id {
                    return Err(foreign(owned.integration));
                }
                last.insert((&owned.group, owned.member.key()), change);
            }
            OwnershipChange::Release { group, member } => {
                last.insert((group, member.key()), change);
            }
            OwnershipChange::ClaimGroup(owned) => {
                if owned.integration != id {
                    return Err(foreign(owned.integration));
                }
                last_group.insert(owned.email.key(), change);
            }
            OwnershipChange::ReleaseGroup { email } => {
                last_group.insert(email.key(), change);
            }
            _ => {
                return Err(Error::InvalidChange {
                    index,
                    reason: "an ownership change this store does not know".to_owned(),
                });
            }
        }
    }
    let (mut claims, mut releases) = (Vec::new(), Vec::new());
    let (mut group_claims, mut group_releases) = (Vec::new(), Vec::new());
    for change in last.into_values().chain(last_group.into_values()) {
        match change {
            OwnershipChange::Claim(owned) => claims.push(owned),
            OwnershipChange::Release { group, member } => releases.push((group, member)),
            OwnershipChange::ClaimGroup(owned) => group_claims.push(owned),
            OwnershipChange::ReleaseGroup { email } => group_releases.push(email),
            _ => {}
        }
    }
    tx.delete_owned(id, &releases).await?;
    tx.put_owned(&claims).await?;
    tx.delete_owned_groups(id, &group_releases).await?;
    tx.put_owned_groups(&group_claims).await?;
    let version = actual.next();
    tx.set_version(id, version).await?;
    Ok(Applied {
        version,
        ops: changes.len(),
    })
}

/// Takes or renews a lease.
///
/// # Errors
/// `NotFound`, `Leased`.
pub async fn acquire_lease(
    tx: &mut impl Transaction,
    integration: IntegrationId,
    holder: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Lease> {
    if tx.integration(integration).await?.is_none() {
        return Err(Error::integration_not_found(integration));
    }
    if let Some(current) = tx.lease(integration).await?
        && current.holder != holder
        && current.until > now
    {
        return Err(Error::Leased {
            integration,
            holder: current.holder,
            until: current.until,
        });
    }
    let lease = Lease {
        integration,
        holder: holder.to_owned(),
        until,
    };
    tx.put_lease(&lease).await?;
    Ok(lease)
}

/// Checks that `fence` is still the integration's lease (same holder; expired or not, as long as
/// no other holder took it): the fencing check of every fenced write, inside its transaction.
///
/// # Errors
/// `LeaseLost`.
pub async fn check_fence(tx: &mut impl Transaction, fence: &Lease) -> Result<()> {
    match tx.lease(fence.integration).await? {
        Some(l) if l.holder == fence.holder => Ok(()),
        _ => Err(Error::LeaseLost {
            integration: fence.integration,
            holder: fence.holder.clone(),
        }),
    }
}

/// Renews a lease for its holder until `until`, if it still holds it (see [`check_fence`]).
///
/// # Errors
/// `LeaseLost`.
pub async fn renew_lease(
    tx: &mut impl Transaction,
    lease: &Lease,
    until: DateTime<Utc>,
) -> Result<Lease> {
    check_fence(tx, lease).await?;
    let renewed = Lease {
        until,
        ..lease.clone()
    };
    tx.put_lease(&renewed).await?;
    Ok(renewed)
}

/// Gives a lease back if its holder still has it.
///
/// # Errors
/// Whatever the backend's primitives return.
pub async fn release_lease(tx: &mut impl Transaction, lease: &Lease) -> Result<()> {
    if tx
        .lease(lease.integration)
        .await?
        .is_some_and(|l| l.holder == lease.holder)
    {
        tx.delete_lease(lease.integration).await?;
    }
    Ok(())
}
