//! The outbound user planner: from the directory users a [`UserProvisioning`] rule selects and
//! the remote's accounts and org units, the org units to create and the accounts to create,
//! update, adopt, suspend, reactivate and delete. Pure: no IO, no clock.
//!
//! Ownership is the [`ProvisioningMarker`] an account carries: written by the create (or the
//! adoption) itself, so it is there exactly when the remote confirmed the write, survives a lost
//! answer or a killed run, and moves with the account through renames. An account without our
//! marker is never modified: with the email of a user to provision it is adopted only when
//! the rule says so, and otherwise quarantined as a conflict.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use dirsync_core::{
    DirectoryUser, Email, ExternalId, IntegrationId, Manager, MarkerOrigin, ObjectKind,
    OrgUnitFields, OrgUnitPath, ProvisioningMarker, QuarantinedRecord, RemoteOp, RemoteOrgUnit,
    RemoteUser, Threshold, UserFields, UserId, UserProvisioning, UserStatus,
};

pub(crate) mod desired;
pub(crate) mod groups;

use crate::outbound::DirectoryFacts;
use crate::plan::{Counts, OpKind, Trip};

/// What the user planner reads: the rule, the directory, and the remote's accounts and org
/// units (from a complete snapshot).
#[derive(Debug, Clone, Copy)]
pub struct ProvisionState<'a> {
    /// The outbound integration (whose markers make accounts ours).
    pub integration: IntegrationId,
    /// The rule.
    pub rule: &'a UserProvisioning,
    /// The directory.
    pub directory: &'a DirectoryFacts,
    /// Every account in the remote.
    pub accounts: &'a [RemoteUser],
    /// Every org unit in the remote; `None` for a remote without org units (a SCIM
    /// application): then every account lives in its root and no org unit is planned.
    pub org_units: Option<&'a [RemoteOrgUnit]>,
}

/// The user planner's result: operations in the order they must be applied (org units parents
/// first, then accounts), counts, records it left alone, accounts it protected, and the
/// safeguard it tripped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProvisionPart {
    /// The operations.
    pub ops: Vec<RemoteOp>,
    /// Operations per kind.
    pub counts: Counts,
    /// Users and accounts left alone, with the reason.
    pub quarantined: Vec<QuarantinedRecord>,
    /// Administrators not suspended: (account, reason).
    pub protected: Vec<(Email, String)>,
    /// The safeguards the part tripped (`users`; groups deleted, members removed).
    pub trips: Vec<Trip>,
}

impl ProvisionPart {
    fn push(&mut self, kind: OpKind, op: RemoteOp) {
        *self.counts.entry(kind).or_default() += 1;
        self.ops.push(op);
    }

    fn quarantine(&mut self, id: Option<&ExternalId>, label: &Email, reason: String) {
        self.quarantined.push(QuarantinedRecord {
            kind: ObjectKind::Users,
            external_id: id.cloned(),
            label: label.to_string(),
            reason,
        });
    }
}

/// The fields an account of `user` should have under `rule`.
fn desired(
    rule: &UserProvisioning,
    user: &DirectoryUser,
    emails: &HashMap<UserId, &Email>,
    org_units: bool,
) -> UserFields {
    let p = &user.profile;
    // Google needs both names: an empty one falls back to the address's local part.
    let mut name = p.name.clone();
    let local = p
        .primary_email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default();
    if name.given.trim().is_empty() {
        name.given = local.to_owned();
    }
    if name.family.trim().is_empty() {
        name.family = local.to_owned();
    }
    let mut fields = UserFields::new(p.primary_email.clone(), name);
    fields.org_unit = rule
        .map_org_unit(p.org_unit.as_ref())
        .filter(|o| org_units && !o.is_root());
    fields.employee_id = p.employee_id.clone().filter(|e| !e.is_empty());
    fields.manager_email = match &p.manager {
        Some(Manager::Resolved(id)) => emails.get(id).map(|e| (*e).clone()),
        Some(Manager::Unresolved(email)) => Some(email.clone()),
        None => None,
    };
    fields.employment_type = p.employment_type;
    fields
}

/// Whether `account` already holds `fields` (emails case-insensitively; the root org unit
/// however it is spelled).
fn holds(account: &RemoteUser, fields: &UserFields) -> bool {
    let root = |o: &Option<OrgUnitPath>| {
        o.as_ref()
            .filter(|o| !o.is_root())
            .map(|o| o.as_str().to_ascii_lowercase())
    };
    account.primary_email.key() == fields.primary_email.key()
        && account.name.given == fields.name.given
        && account.name.family == fields.name.family
        && root(&account.org_unit) == root(&fields.org_unit)
        && account.employee_id == fields.employee_id
        && account.manager_email.as_ref().map(Email::key)
            == fields.manager_email.as_ref().map(Email::key)
        && (fields.employment_type.is_none() || account.employment_type == fields.employment_type)
}

/// Plans the remote changes that make the remote hold an account for each user `rule` selects.
///
/// - An active selected user without an account gets one (with our marker); its org unit must
///   exist or be created (the rule's `create_org_units`, parents first), else the user is
///   quarantined.
/// - An account with the email of a user to provision but without our marker is adopted (an
///   update that writes the marker) if the rule says so, otherwise quarantined and untouched;
///   one marked for another directory user is always quarantined.
/// - Our account is updated when the profile differs (a rename keeps its id), suspended when
///   its user is suspended, deprovisioned, no longer selected or gone from the directory,
///   reactivated when its user is active again, and deleted when the rule has a retention,
///   the account was created (not adopted) by us, and its user was deprovisioned that long ago.
/// - Administrators are never suspended or deleted (reported as protected).
/// - Suspensions and deletions together pass the `users` safeguard against our accounts.
pub fn plan_users(
    state: ProvisionState<'_>,
    users: &Threshold,
    now: DateTime<Utc>,
) -> ProvisionPart {
    let ProvisionState {
        integration,
        rule,
        directory,
        accounts,
        org_units,
    } = state;
    let mut part = ProvisionPart::default();
    let dir_users = directory.users();
    let emails: HashMap<UserId, &Email> = dir_users
        .iter()
        .map(|u| (u.id, &u.profile.primary_email))
        .collect();
    let by_email: HashMap<String, &RemoteUser> = accounts
        .iter()
        .map(|a| (a.primary_email.key(), a))
        .collect();
    // Our accounts by directory user; a second account claiming the same user is left alone.
    let mut ours: HashMap<UserId, (&RemoteUser, MarkerOrigin)> = HashMap::new();
    let mut sorted: Vec<&RemoteUser> = accounts.iter().filter(|a| a.marker.is_some()).collect();
    sorted.sort_by(|a, b| a.external_id.as_str().cmp(b.external_id.as_str()));
    for account in sorted {
        let Some(marker) = account.marker.filter(|m| m.integration == integration) else {
            continue;
        };
        if ours.contains_key(&marker.user) {
            part.quarantine(
                Some(&account.external_id),
                &account.primary_email,
                format!("a second account marked for directory user {}", marker.user),
            );
            continue;
        }
        ours.insert(marker.user, (account, marker.origin));
    }
    let mut present: BTreeSet<String> = org_units
        .unwrap_or_default()
        .iter()
        .map(|o| o.path.as_str().to_ascii_lowercase())
        .collect();
    let mut org_ops = Vec::new();
    let (mut account_ops, mut destructive) = (Vec::new(), 0u64);
    let mut take = |part: &mut ProvisionPart, kind: OpKind, op: RemoteOp| {
        *part.counts.entry(kind).or_default() += 1;
        account_ops.push(op);
    };
    let known: BTreeSet<UserId> = dir_users.iter().map(|u| u.id).collect();
    for user in dir_users {
        let selected = directory.matches(&rule.select, user);
        let fields = desired(rule, user, &emails, org_units.is_some());
        match ours.get(&user.id) {
            Some((account, origin)) => {
                let keep = selected && user.status != UserStatus::Deprovisioned;
                if keep && !holds(account, &fields) {
                    if !org_unit_ready(rule, &fields, &mut present, &mut org_ops, &mut part) {
                        continue;
                    }
                    take(
                        &mut part,
                        OpKind::RemoteUsersUpdated,
                        RemoteOp::UpdateUser {
                            user: account.external_id.clone(),
                            // The marker is written again (a remote may replace the field
                            // that holds it whole).
                            fields: match account.marker {
                                Some(m) => fields.with_marker(m),
                                None => fields,
                            },
                        },
                    );
                }
                let suspend = !keep || user.status == UserStatus::Suspended;
                if suspend && !account.suspended {
                    if account.is_admin {
                        part.protected.push((
                            account.primary_email.clone(),
                            "an administrator is never suspended".to_owned(),
                        ));
                    } else {
                        destructive += 1;
                        take(
                            &mut part,
                            OpKind::RemoteUsersSuspended,
                            RemoteOp::SuspendUser {
                                user: account.external_id.clone(),
                            },
                        );
                    }
                } else if !suspend && account.suspended {
                    take(
                        &mut part,
                        OpKind::RemoteUsersReactivated,
                        RemoteOp::ReactivateUser {
                            user: account.external_id.clone(),
                        },
                    );
                }
                let expired = rule
                    .delete_after_days
                    .zip(user.lifecycle.deprovisioned_at)
                    .is_some_and(|(days, at)| {
                        user.status == UserStatus::Deprovisioned
                            && at + Duration::days(i64::from(days)) <= now
                    });
                if expired && *origin == MarkerOrigin::Created && !account.is_admin {
                    destructive += 1;
                    take(
                        &mut part,
                        OpKind::RemoteUsersDeleted,
                        RemoteOp::DeleteUser {
                            user: account.external_id.clone(),
                        },
                    );
                }
            }
            None if selected && user.status == UserStatus::Active => {
                match by_email.get(&fields.primary_email.key()) {
                    Some(account) => {
                        if let Some(other) = account.marker {
                            part.quarantine(
                                Some(&account.external_id),
                                &account.primary_email,
                                format!(
                                    "the account is marked as provisioned by another \
                                     integration ({}) or for another user ({})",
                                    other.integration, other.user
                                ),
                            );
                        } else if !rule.adopt_existing {
                            part.quarantine(Some(&account.external_id), &account.primary_email, "an account with this email exists and is not ours (the rule does not adopt existing accounts)".to_owned());
                        } else if org_unit_ready(
                            rule,
                            &fields,
                            &mut present,
                            &mut org_ops,
                            &mut part,
                        ) {
                            let was_suspended = account.suspended;
                            take(
                                &mut part,
                                OpKind::RemoteUsersUpdated,
                                RemoteOp::UpdateUser {
                                    user: account.external_id.clone(),
                                    fields: fields.with_marker(ProvisioningMarker::adopted(
                                        integration,
                                        user.id,
                                    )),
                                },
                            );
                            if was_suspended {
                                take(
                                    &mut part,
                                    OpKind::RemoteUsersReactivated,
                                    RemoteOp::ReactivateUser {
                                        user: account.external_id.clone(),
                                    },
                                );
                            }
                        }
                    }
                    None => {
                        if org_unit_ready(rule, &fields, &mut present, &mut org_ops, &mut part) {
                            take(
                                &mut part,
                                OpKind::RemoteUsersCreated,
                                RemoteOp::CreateUser {
                                    fields: fields
                                        .with_marker(ProvisioningMarker::created(
                                            integration,
                                            user.id,
                                        ))
                                        .with_sso_only(rule.sso_only),
                                },
                            );
                        }
                    }
                }
            }
            None => {}
        }
    }
    // Our accounts whose directory user is gone: suspended (deleting needs the retention, which
    // starts at a deprovisioning the directory no longer shows).
    let mut gone: Vec<&(&RemoteUser, MarkerOrigin)> = ours
        .iter()
        .filter(|(id, _)| !known.contains(id))
        .map(|(_, v)| v)
        .collect();
    gone.sort_by(|a, b| a.0.external_id.as_str().cmp(b.0.external_id.as_str()));
    for (account, _) in gone {
        if account.suspended {
            continue;
        }
        if account.is_admin {
            part.protected.push((
                account.primary_email.clone(),
                "an administrator is never suspended".to_owned(),
            ));
            continue;
        }
        destructive += 1;
        take(
            &mut part,
            OpKind::RemoteUsersSuspended,
            RemoteOp::SuspendUser {
                user: account.external_id.clone(),
            },
        );
    }
    let total = ours.len() as u64;
    if users.trips(destructive, total) {
        part.trips.push(Trip {
            safeguard: "remote accounts suspended or deleted".to_owned(),
            count: destructive,
            total,
        });
    }
    for op in org_ops {
        part.push(OpKind::RemoteOrgUnitsCreated, op);
    }
    part.ops.extend(account_ops);
    part
}

/// Whether the org unit of `fields` exists in the remote or is planned; plans the missing ones
/// (parents first) when the rule creates org units, and quarantines the user otherwise.
fn org_unit_ready(
    rule: &UserProvisioning,
    fields: &UserFields,
    present: &mut BTreeSet<String>,
    org_ops: &mut Vec<RemoteOp>,
    part: &mut ProvisionPart,
) -> bool {
    let Some(path) = &fields.org_unit else {
        return true;
    };
    if present.contains(&path.as_str().to_ascii_lowercase()) {
        return true;
    }
    if !rule.create_org_units {
        part.quarantine(
            None,
            &fields.primary_email,
            format!(
                "org unit {path} does not exist in the remote (the rule does not create org units)"
            ),
        );
        return false;
    }
    let mut chain = vec![path.clone()];
    let mut cur = path.parent();
    while let Some(p) = cur {
        if p.is_root() || present.contains(&p.as_str().to_ascii_lowercase()) {
            break;
        }
        cur = p.parent();
        chain.push(p);
    }
    for p in chain.into_iter().rev() {
        present.insert(p.as_str().to_ascii_lowercase());
        org_ops.push(RemoteOp::CreateOrgUnit {
            fields: OrgUnitFields::new(p, ""),
        });
    }
    true
}

#[cfg(test)]
mod tests;
