//! The store's rules, written once over a small set of transactional primitives.
//!
//! A backend implements [`Transaction`] (plain reads and writes inside one of its own
//! transactions) and calls the functions of this module from its [`Store`](crate::Store)
//! methods. The rules — primary election, immutable fields, version checks, validation of every
//! operation, what removal takes with it — therefore live in one place, and every backend
//! enforces exactly the same ones. The conformance suite checks the primitives.
//!
//! The functions return on the first error; the backend then rolls its transaction back, so an
//! error never leaves a partial write.

use chrono::{DateTime, Utc};
use dirsync_core::{
    Account, AnyIntegration, DirectionKind, DirectoryChanges, DirectoryOp, DirectoryUser, Email,
    ExternalId, Group, IntegrationId, IntegrationRecord, Membership, MembershipKey, NewIntegration,
    OrgUnit, OwnedMembership, OwnershipChange, ProfileChange, RoleKind, UserId, Version,
};

use crate::{Applied, Error, Lease, Removed, Result};

/// The primitive reads and writes a backend offers inside one transaction.
///
/// Writes are unconditional (the rules are checked by this module's functions); each
/// `delete_*` returns whether something was deleted. Implementations must keep a
/// case-insensitive email index for [`user_id_by_email`](Transaction::user_id_by_email) in step
/// with [`put_user`](Transaction::put_user).
pub trait Transaction {
    /// One integration's record.
    fn integration(&mut self, id: IntegrationId) -> Result<Option<IntegrationRecord>>;
    /// The recorded primary.
    fn primary_id(&mut self) -> Result<Option<IntegrationId>>;
    /// Inserts a new integration (and records it as primary if its role says so).
    fn insert_integration(&mut self, record: &IntegrationRecord) -> Result<()>;
    /// Replaces an integration's record.
    fn update_integration(&mut self, record: &IntegrationRecord) -> Result<()>;
    /// Deletes an integration and everything it owns (accounts, groups, memberships, org units,
    /// held plans, version, lease), clearing the primary mark if it had it. Run records stay.
    fn delete_integration(&mut self, id: IntegrationId) -> Result<Removed>;
    /// Whether the integration has accounts, groups, memberships or org units.
    fn owns_objects(&mut self, id: IntegrationId) -> Result<bool>;
    /// The version of an integration's data (`Version::ZERO` before its first apply).
    fn version(&mut self, id: IntegrationId) -> Result<Version>;
    /// Sets the version of an integration's data.
    fn set_version(&mut self, id: IntegrationId, version: Version) -> Result<()>;
    /// One directory user.
    fn user(&mut self, id: UserId) -> Result<Option<DirectoryUser>>;
    /// The user whose primary email equals `email`, ignoring ASCII case.
    fn user_id_by_email(&mut self, email: &Email) -> Result<Option<UserId>>;
    /// Inserts or replaces a directory user.
    fn put_user(&mut self, user: &DirectoryUser) -> Result<()>;
    /// Whether the directory has any user.
    fn has_users(&mut self) -> Result<bool>;
    /// Inserts or replaces an account (keyed by integration and remote id).
    fn put_account(&mut self, account: &Account) -> Result<()>;
    /// Deletes an account.
    fn delete_account(&mut self, integration: IntegrationId, id: &ExternalId) -> Result<bool>;
    /// Whether the integration has this group.
    fn has_group(&mut self, integration: IntegrationId, id: &ExternalId) -> Result<bool>;
    /// Inserts or replaces a group (keyed by integration and remote id).
    fn put_group(&mut self, group: &Group) -> Result<()>;
    /// Deletes a group and the integration's memberships in it, or of it as a nested member.
    fn delete_group(&mut self, integration: IntegrationId, id: &ExternalId) -> Result<bool>;
    /// Inserts or replaces a membership (keyed by integration and [`MembershipKey`]).
    fn put_membership(&mut self, membership: &Membership) -> Result<()>;
    /// Deletes a membership.
    fn delete_membership(
        &mut self,
        integration: IntegrationId,
        key: &MembershipKey,
    ) -> Result<bool>;
    /// Inserts or replaces an org unit (keyed by integration and remote id).
    fn put_org_unit(&mut self, unit: &OrgUnit) -> Result<()>;
    /// Deletes an org unit.
    fn delete_org_unit(&mut self, integration: IntegrationId, id: &ExternalId) -> Result<bool>;
    /// The integration's lease, if any (expired or not).
    fn lease(&mut self, integration: IntegrationId) -> Result<Option<Lease>>;
    /// Inserts or replaces the integration's lease.
    fn put_lease(&mut self, lease: &Lease) -> Result<()>;
    /// Deletes the integration's lease.
    fn delete_lease(&mut self, integration: IntegrationId) -> Result<()>;

    /// Writes an ownership record (replacing the one for the same integration, group and
    /// member, whose email compares ignoring ASCII case).
    fn put_owned(&mut self, owned: &OwnedMembership) -> Result<()>;

    /// Deletes an ownership record.
    fn delete_owned(
        &mut self,
        integration: IntegrationId,
        group: &ExternalId,
        member: &Email,
    ) -> Result<bool>;
}

/// Creates an integration: the first inbound integration becomes the primary.
///
/// # Errors
/// `AlreadyExists` if an integration with the same id exists.
pub fn create_integration(
    tx: &mut impl Transaction,
    new: NewIntegration,
) -> Result<AnyIntegration> {
    if tx.integration(new.id())?.is_some() {
        return Err(Error::AlreadyExists {
            kind: "integration",
            id: new.id().to_string(),
        });
    }
    let role = if new.direction() == DirectionKind::Inbound && tx.primary_id()?.is_none() {
        RoleKind::Primary
    } else {
        RoleKind::Secondary
    };
    let record = new.into_record(role);
    tx.insert_integration(&record)?;
    Ok(AnyIntegration::from_record(record)?)
}

/// Saves an integration's mutable fields, checking immutable ones and the revision.
///
/// # Errors
/// `NotFound`, `Immutable` (direction, role, system, created_at), `StaleIntegration`.
pub fn save_integration(
    tx: &mut impl Transaction,
    integration: &AnyIntegration,
) -> Result<AnyIntegration> {
    let new = integration.record();
    let stored = tx
        .integration(new.id)?
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
    tx.update_integration(&record)?;
    Ok(AnyIntegration::from_record(record)?)
}

/// Removes an integration and what it owns; refuses the primary while it owns data.
///
/// # Errors
/// `NotFound`, `PrimaryOwnsData`.
pub fn remove_integration(tx: &mut impl Transaction, id: IntegrationId) -> Result<Removed> {
    if tx.integration(id)?.is_none() {
        return Err(Error::integration_not_found(id));
    }
    if tx.primary_id()? == Some(id) && (tx.owns_objects(id)? || tx.has_users()?) {
        return Err(Error::PrimaryOwnsData { integration: id });
    }
    tx.delete_integration(id)
}

/// Applies a change set: integration and direction check, primary check for profile
/// operations, version check, then every operation in order, then the version bump.
///
/// # Errors
/// `NotFound`, `NotInbound`, `NotPrimary`, `Conflict`, `InvalidChange`.
pub fn apply_changes(tx: &mut impl Transaction, changes: &DirectoryChanges) -> Result<Applied> {
    let id = changes.integration();
    let record = tx
        .integration(id)?
        .ok_or_else(|| Error::integration_not_found(id))?;
    if record.direction != DirectionKind::Inbound {
        return Err(Error::NotInbound { integration: id });
    }
    if changes.touches_profiles() && tx.primary_id()? != Some(id) {
        return Err(Error::NotPrimary { integration: id });
    }
    let actual = tx.version(id)?;
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
    for (index, op) in changes.ops().iter().enumerate() {
        apply_op(tx, id, op).map_err(|e| match e {
            OpError::Invalid(reason) => Error::InvalidChange { index, reason },
            OpError::Store(e) => e,
        })?;
    }
    let version = actual.next();
    tx.set_version(id, version)?;
    Ok(Applied {
        version,
        ops: changes.ops().len(),
    })
}

/// Records an outbound apply's ownership changes: outbound check, version check, every change,
/// then the version bump.
///
/// # Errors
/// `NotFound`, `NotOutbound`, `Conflict`, `InvalidChange` (a claim for another integration).
pub fn record_ownership(
    tx: &mut impl Transaction,
    id: IntegrationId,
    base: Version,
    changes: &[OwnershipChange],
) -> Result<Applied> {
    let record = tx
        .integration(id)?
        .ok_or_else(|| Error::integration_not_found(id))?;
    if record.direction != DirectionKind::Outbound {
        return Err(Error::NotOutbound { integration: id });
    }
    let actual = tx.version(id)?;
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
    for (index, change) in changes.iter().enumerate() {
        match change {
            OwnershipChange::Claim(owned) => {
                if owned.integration != id {
                    return Err(Error::InvalidChange {
                        index,
                        reason: format!(
                            "ownership record of integration {} in a change of {id}",
                            owned.integration
                        ),
                    });
                }
                tx.put_owned(owned)?;
            }
            OwnershipChange::Release { group, member } => {
                tx.delete_owned(id, group, member)?;
            }
            _ => {
                return Err(Error::InvalidChange {
                    index,
                    reason: "an ownership change this store does not know".to_owned(),
                });
            }
        }
    }
    let version = actual.next();
    tx.set_version(id, version)?;
    Ok(Applied {
        version,
        ops: changes.len(),
    })
}

enum OpError {
    Invalid(String),
    Store(Error),
}

impl From<Error> for OpError {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

fn invalid<T>(reason: impl Into<String>) -> Result<T, OpError> {
    Err(OpError::Invalid(reason.into()))
}

fn same_integration(id: IntegrationId, of: IntegrationId, what: &str) -> Result<(), OpError> {
    if id == of {
        Ok(())
    } else {
        invalid(format!("{what} belongs to integration {of}, not {id}"))
    }
}

fn apply_op(tx: &mut impl Transaction, id: IntegrationId, op: &DirectoryOp) -> Result<(), OpError> {
    match op {
        DirectoryOp::UpsertAccount(account) => {
            same_integration(id, account.integration, "account")?;
            if let Some(link) = &account.link
                && tx.user(link.user)?.is_none()
            {
                return invalid(format!(
                    "account {} links to unknown user {}",
                    account.external_id, link.user
                ));
            }
            tx.put_account(account)?;
        }
        DirectoryOp::RemoveAccount { external_id } => {
            if !tx.delete_account(id, external_id)? {
                return invalid(format!("no account {external_id} to remove"));
            }
        }
        DirectoryOp::UpsertGroup(group) => {
            same_integration(id, group.integration, "group")?;
            tx.put_group(group)?;
        }
        DirectoryOp::RemoveGroup { external_id } => {
            if !tx.delete_group(id, external_id)? {
                return invalid(format!("no group {external_id} to remove"));
            }
        }
        DirectoryOp::UpsertMembership(membership) => {
            same_integration(id, membership.integration, "membership")?;
            if !tx.has_group(id, &membership.group)? {
                return invalid(format!("membership in unknown group {}", membership.group));
            }
            tx.put_membership(membership)?;
        }
        DirectoryOp::RemoveMembership(key) => {
            if !tx.delete_membership(id, key)? {
                return invalid(format!(
                    "no membership of {} in {} to remove",
                    key.member, key.group
                ));
            }
        }
        DirectoryOp::UpsertOrgUnit(unit) => {
            same_integration(id, unit.integration, "org unit")?;
            tx.put_org_unit(unit)?;
        }
        DirectoryOp::RemoveOrgUnit { external_id } => {
            if !tx.delete_org_unit(id, external_id)? {
                return invalid(format!("no org unit {external_id} to remove"));
            }
        }
        DirectoryOp::Profile(op) => apply_profile(tx, op.change())?,
        _ => return invalid("an operation this store does not know"),
    }
    Ok(())
}

fn email_free_for(tx: &mut impl Transaction, email: &Email, user: UserId) -> Result<(), OpError> {
    match tx.user_id_by_email(email)? {
        Some(other) if other != user => {
            invalid(format!("email {email} is already used by user {other}"))
        }
        _ => Ok(()),
    }
}

fn apply_profile(tx: &mut impl Transaction, change: &ProfileChange) -> Result<(), OpError> {
    match change {
        ProfileChange::CreateUser {
            user,
            profile,
            event,
        } => {
            if tx.user(*user)?.is_some() {
                return invalid(format!("user {user} already exists"));
            }
            email_free_for(tx, &profile.primary_email, *user)?;
            let created = DirectoryUser::provisioned(*user, profile.clone(), event.clone())
                .map_err(|e| OpError::Invalid(e.to_string()))?;
            tx.put_user(&created)?;
        }
        ProfileChange::UpdateProfile { user, profile } => {
            let Some(mut existing) = tx.user(*user)? else {
                return invalid(format!("no user {user} to update"));
            };
            email_free_for(tx, &profile.primary_email, *user)?;
            existing.profile = profile.clone();
            tx.put_user(&existing)?;
        }
        ProfileChange::Lifecycle { user, event } => {
            let Some(mut existing) = tx.user(*user)? else {
                return invalid(format!("no user {user} for a lifecycle change"));
            };
            existing
                .apply_lifecycle(event.clone())
                .map_err(|e| OpError::Invalid(e.to_string()))?;
            tx.put_user(&existing)?;
        }
        _ => return invalid("a profile change this store does not know"),
    }
    Ok(())
}

/// Takes or renews a lease.
///
/// # Errors
/// `NotFound`, `Leased`.
pub fn acquire_lease(
    tx: &mut impl Transaction,
    integration: IntegrationId,
    holder: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Lease> {
    if tx.integration(integration)?.is_none() {
        return Err(Error::integration_not_found(integration));
    }
    if let Some(current) = tx.lease(integration)?
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
    tx.put_lease(&lease)?;
    Ok(lease)
}

/// Checks that `fence` is still the integration's lease (same holder; expired or not, as long as
/// no other holder took it): the fencing check of every fenced write, inside its transaction.
///
/// # Errors
/// `LeaseLost`.
pub fn check_fence(tx: &mut impl Transaction, fence: &Lease) -> Result<()> {
    match tx.lease(fence.integration)? {
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
pub fn renew_lease(
    tx: &mut impl Transaction,
    lease: &Lease,
    until: DateTime<Utc>,
) -> Result<Lease> {
    check_fence(tx, lease)?;
    let renewed = Lease {
        until,
        ..lease.clone()
    };
    tx.put_lease(&renewed)?;
    Ok(renewed)
}

/// Gives a lease back if its holder still has it.
///
/// # Errors
/// Whatever the backend's primitives return.
pub fn release_lease(tx: &mut impl Transaction, lease: &Lease) -> Result<()> {
    if tx
        .lease(lease.integration)?
        .is_some_and(|l| l.holder == lease.holder)
    {
        tx.delete_lease(lease.integration)?;
    }
    Ok(())
}
