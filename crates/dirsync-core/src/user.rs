//! The unified directory user: one person, their profile and their lifecycle.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Email, Error, OrgUnitPath, UserId};

/// Whether a person works as an employee or a contractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EmploymentType {
    /// An employee.
    Employee,
    /// A contractor.
    Contractor,
}

impl fmt::Display for EmploymentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Employee => "employee",
            Self::Contractor => "contractor",
        })
    }
}

/// A person's name as the primary integration reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    /// Given (first) name.
    pub given: String,
    /// Family (last) name.
    pub family: String,
    /// Display name, as shown in the remote.
    pub display: String,
}

/// A user's manager: a directory user once resolved, or the email the source gave when no
/// directory user has it (kept and reported, resolved on a later run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Manager {
    /// The manager's directory user.
    Resolved(UserId),
    /// The manager's email as the source gave it, not (yet) matched to a directory user.
    Unresolved(Email),
}

/// The unified profile, written only by the primary integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Primary email (unique in the directory, case-insensitively).
    pub primary_email: Email,
    /// Name.
    pub name: PersonName,
    /// Manager, if any.
    pub manager: Option<Manager>,
    /// Employee id (Google: `externalIds[type=organization]`).
    pub employee_id: Option<String>,
    /// Employee or contractor, when known.
    pub employment_type: Option<EmploymentType>,
    /// Organizational unit.
    pub org_unit: Option<OrgUnitPath>,
    /// Whether the remote reports the person as an administrator (protected by default).
    pub is_admin: bool,
}

impl UserProfile {
    /// A profile with just an email; everything else empty.
    pub fn new(primary_email: Email) -> Self {
        Self {
            primary_email,
            name: PersonName::default(),
            manager: None,
            employee_id: None,
            employment_type: None,
            org_unit: None,
            is_admin: false,
        }
    }
}

/// Where a directory user is in their lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Provisioned and active.
    Active,
    /// Suspended (can come back).
    Suspended,
    /// Deprovisioned (left). Can be provisioned again (a rehire).
    Deprovisioned,
}

impl fmt::Display for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deprovisioned => "deprovisioned",
        })
    }
}

/// A lifecycle transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleKind {
    /// The person appears (first time, or a rehire after deprovisioning) → active.
    Provisioned,
    /// Active → suspended.
    Suspended,
    /// Suspended → active.
    Reactivated,
    /// Active or suspended → deprovisioned.
    Deprovisioned,
}

impl LifecycleKind {
    /// The status this transition leads from `from` to, or the refusal.
    ///
    /// # Errors
    /// [`Error::IllegalLifecycle`] for a transition that does not start at `from`
    /// (e.g. suspending a deprovisioned user). `from = None` means "not yet in the directory".
    pub fn apply(self, from: Option<UserStatus>) -> Result<UserStatus, Error> {
        use LifecycleKind as K;
        use UserStatus as S;
        match (from, self) {
            (None | Some(S::Deprovisioned), K::Provisioned) => Ok(S::Active),
            (Some(S::Active), K::Suspended) => Ok(S::Suspended),
            (Some(S::Suspended), K::Reactivated) => Ok(S::Active),
            (Some(S::Active | S::Suspended), K::Deprovisioned) => Ok(S::Deprovisioned),
            (from, event) => Err(Error::IllegalLifecycle {
                from: from.unwrap_or(S::Deprovisioned),
                event,
            }),
        }
    }
}

impl fmt::Display for LifecycleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Provisioned => "provisioned",
            Self::Suspended => "suspended",
            Self::Reactivated => "reactivated",
            Self::Deprovisioned => "deprovisioned",
        })
    }
}

/// One lifecycle transition, with when it happened and as what the person was employed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: LifecycleKind,
    /// Employee or contractor at that moment, when known.
    pub employment_type: Option<EmploymentType>,
}

/// Lifecycle timestamps and the full history of transitions.
///
/// `provisioned_at` is the latest provisioning; `suspended_at` is set while suspended;
/// `deprovisioned_at` is set while deprovisioned. The history keeps every transition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// Latest provisioning.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// Start of the current suspension.
    pub suspended_at: Option<DateTime<Utc>>,
    /// When the person was deprovisioned (while they are).
    pub deprovisioned_at: Option<DateTime<Utc>>,
    /// Every transition, oldest first.
    pub history: Vec<LifecycleEvent>,
}

/// A person in the unified directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    /// Identifier.
    pub id: UserId,
    /// Profile (owned by the primary integration).
    pub profile: UserProfile,
    /// Current status (follows the lifecycle).
    pub status: UserStatus,
    /// Timestamps and history.
    pub lifecycle: Lifecycle,
}

impl DirectoryUser {
    /// A newly provisioned user: active, with one `provisioned` event at `event.at`.
    ///
    /// # Errors
    /// [`Error::IllegalLifecycle`] unless `event.kind` is [`LifecycleKind::Provisioned`].
    pub fn provisioned(
        id: UserId,
        profile: UserProfile,
        event: LifecycleEvent,
    ) -> Result<Self, Error> {
        let status = event.kind.apply(None)?;
        Ok(Self {
            id,
            profile,
            status,
            lifecycle: Lifecycle {
                provisioned_at: Some(event.at),
                suspended_at: None,
                deprovisioned_at: None,
                history: vec![event],
            },
        })
    }

    /// Applies a lifecycle transition: sets the status and timestamps and appends to the history.
    ///
    /// # Errors
    /// [`Error::IllegalLifecycle`] if the transition does not start at the current status;
    /// the user is then unchanged.
    pub fn apply_lifecycle(&mut self, event: LifecycleEvent) -> Result<(), Error> {
        let next = event.kind.apply(Some(self.status))?;
        let lc = &mut self.lifecycle;
        match event.kind {
            LifecycleKind::Provisioned => {
                lc.provisioned_at = Some(event.at);
                lc.suspended_at = None;
                lc.deprovisioned_at = None;
            }
            LifecycleKind::Suspended => lc.suspended_at = Some(event.at),
            LifecycleKind::Reactivated => lc.suspended_at = None,
            LifecycleKind::Deprovisioned => lc.deprovisioned_at = Some(event.at),
        }
        if event.employment_type.is_some() {
            self.profile.employment_type = event.employment_type;
        }
        lc.history.push(event);
        self.status = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn event(h: u32, kind: LifecycleKind) -> LifecycleEvent {
        LifecycleEvent {
            at: at(h),
            kind,
            employment_type: Some(EmploymentType::Contractor),
        }
    }

    #[test]
    fn lifecycle_table() {
        use LifecycleKind as K;
        use UserStatus as S;
        let cases = [
            (None, K::Provisioned, Some(S::Active)),
            (None, K::Suspended, None),
            (Some(S::Active), K::Provisioned, None),
            (Some(S::Active), K::Suspended, Some(S::Suspended)),
            (Some(S::Active), K::Reactivated, None),
            (Some(S::Active), K::Deprovisioned, Some(S::Deprovisioned)),
            (Some(S::Suspended), K::Reactivated, Some(S::Active)),
            (Some(S::Suspended), K::Suspended, None),
            (Some(S::Suspended), K::Deprovisioned, Some(S::Deprovisioned)),
            (Some(S::Deprovisioned), K::Provisioned, Some(S::Active)),
            (Some(S::Deprovisioned), K::Suspended, None),
            (Some(S::Deprovisioned), K::Reactivated, None),
            (Some(S::Deprovisioned), K::Deprovisioned, None),
        ];
        for (from, kind, want) in cases {
            assert_eq!(kind.apply(from).ok(), want, "{from:?} by {kind}");
        }
    }

    #[test]
    fn timestamps_and_history_follow_transitions() -> Result<(), Error> {
        let email = Email::new("a@b.com")?;
        let mut u = DirectoryUser::provisioned(
            UserId::random(),
            UserProfile::new(email),
            event(1, LifecycleKind::Provisioned),
        )?;
        u.apply_lifecycle(event(2, LifecycleKind::Suspended))?;
        assert_eq!(
            (u.status, u.lifecycle.suspended_at),
            (UserStatus::Suspended, Some(at(2)))
        );
        u.apply_lifecycle(event(3, LifecycleKind::Reactivated))?;
        assert_eq!(
            (u.status, u.lifecycle.suspended_at),
            (UserStatus::Active, None)
        );
        u.apply_lifecycle(event(4, LifecycleKind::Deprovisioned))?;
        assert_eq!(u.lifecycle.deprovisioned_at, Some(at(4)));
        let before = u.clone();
        assert!(
            u.apply_lifecycle(event(5, LifecycleKind::Suspended))
                .is_err()
        );
        assert_eq!(u, before, "a refused transition changes nothing");
        u.apply_lifecycle(event(6, LifecycleKind::Provisioned))?;
        assert_eq!(u.lifecycle.provisioned_at, Some(at(6)));
        assert_eq!(u.lifecycle.deprovisioned_at, None);
        assert_eq!(u.lifecycle.history.len(), 5);
        assert_eq!(u.profile.employment_type, Some(EmploymentType::Contractor));
        Ok(())
    }
}
