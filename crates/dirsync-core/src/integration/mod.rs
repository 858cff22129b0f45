//! Integrations and their typed invariants.
//!
//! An [`Integration<D, R>`] is one connection to one remote system in one direction `D`
//! ([`Inbound`] or [`Outbound`]) with one role `R` ([`Primary`] or [`Secondary`]). The type
//! parameters carry the rules of DESIGN §3, so breaking one is a compile error:
//!
//! - **Direction is fixed at creation**: no method changes `D`, and an outbound integration is
//!   not accepted where an inbound one is required.
//! - **The primary is chosen by the store and never changes**: `Integration<Inbound, Primary>`
//!   has no public constructor and no method that changes its role; `Integration<Outbound,
//!   Primary>` is not even a type, because [`Primary`] is a [`Role`] of [`Inbound`] only.
//! - **Only the primary writes profiles and lifecycles**: the [`ProfileAuthority`] that every
//!   profile or lifecycle change needs is handed out only by
//!   [`Integration::<Inbound, Primary>::profile_authority`](Integration::profile_authority).
//!
//! Integrations read back from storage arrive as [`AnyIntegration`], parsed once at the store
//! boundary, then matched into their typed form.

mod any;
mod authorization;
mod markers;
mod settings;
mod state;

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use any::AnyIntegration;
pub use authorization::{Authorization, AuthorizationMethod, KeyOwnership, Scope};
pub use markers::{
    Direction, DirectionKind, Inbound, Outbound, Primary, Role, RoleKind, Secondary,
};
pub use settings::{RemoteSettings, System, TypedSettings};
pub use state::{IntegrationState, Transition};

use crate::changes::ProfileAuthority;
use crate::error::{Error, clip};
use crate::{IntegrationId, RuleId, Safeguards, Schedule, SyncRule};

/// Everything an integration holds, as plain data: the form stores persist and read back.
///
/// Application code works with [`Integration`] and [`AnyIntegration`]; a record becomes one only
/// through `AnyIntegration::from_record`, which store backends call when they load (it exists
/// only with the crate's `backend` feature, which store crates enable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRecord {
    /// Identifier.
    pub id: IntegrationId,
    /// Human title ("Google Workspace (acme.com)").
    pub title: String,
    /// Direction, fixed at creation.
    pub direction: DirectionKind,
    /// Role, decided by the store at creation.
    pub role: RoleKind,
    /// How to reach the remote system.
    pub settings: RemoteSettings,
    /// Lifecycle state.
    pub state: IntegrationState,
    /// When scheduled rules run.
    pub schedule: Schedule,
    /// What to sync.
    pub rules: Vec<SyncRule>,
    /// The last verified authorization, if any.
    pub authorization: Option<Authorization>,
    /// The authorizations it replaced, oldest first (who, when, scopes, method).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_history: Vec<Authorization>,
    /// This integration's own safeguard thresholds; `None` uses the service's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguards: Option<Safeguards>,
    /// Whether its source should push changes as they happen (a push channel kept open for it,
    /// when its connector can push); the scheduled rules stay the backstop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub push: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Optimistic-concurrency revision, bumped by the store on every save.
    pub revision: u64,
}

/// What a caller asks the store to create. The store decides the role (the first inbound
/// integration becomes the primary) and returns the stored [`AnyIntegration`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    id: IntegrationId,
    title: String,
    direction: DirectionKind,
    settings: RemoteSettings,
    schedule: Schedule,
    created_at: DateTime<Utc>,
}

impl NewIntegration {
    /// A new integration request with a fresh id, in state `Staged`, with no rules.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an empty or overlong title.
    pub fn new(
        title: impl Into<String>,
        direction: DirectionKind,
        settings: RemoteSettings,
        schedule: Schedule,
        created_at: DateTime<Utc>,
    ) -> Result<Self, Error> {
        Ok(Self {
            id: IntegrationId::random(),
            title: validate_title(title.into())?,
            direction,
            settings,
            schedule,
            created_at,
        })
    }

    /// The id the integration will have.
    pub fn id(&self) -> IntegrationId {
        self.id
    }

    /// The requested direction.
    pub fn direction(&self) -> DirectionKind {
        self.direction
    }

    /// The settings it will connect with.
    pub fn settings(&self) -> &RemoteSettings {
        &self.settings
    }

    /// For store backends (feature `backend`): the record to persist, with the role the store
    /// decided.
    #[cfg(any(test, feature = "backend"))]
    pub fn into_record(self, role: RoleKind) -> IntegrationRecord {
        IntegrationRecord {
            id: self.id,
            title: self.title,
            direction: self.direction,
            role,
            settings: self.settings,
            state: IntegrationState::Staged,
            schedule: self.schedule,
            rules: Vec::new(),
            authorization: None,
            authorization_history: Vec::new(),
            safeguards: None,
            push: false,
            created_at: self.created_at,
            revision: 0,
        }
    }
}

fn validate_title(title: String) -> Result<String, Error> {
    let reason = if title.trim().is_empty() {
        Some("must not be empty")
    } else if title.chars().count() > 200 {
        Some("longer than 200 characters")
    } else if title.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidValue {
            kind: "title",
            value: clip(&title),
            reason: reason.to_owned(),
        }),
        None => Ok(title),
    }
}

/// An integration whose direction `D` and role `R` are known to the compiler.
///
/// See [the invariants in types](crate#the-invariants-in-types) for what the parameters hold. Obtain one from
/// a store (as [`AnyIntegration`]) and match on it.
pub struct Integration<D: Direction, R: Role<D> = Secondary> {
    record: IntegrationRecord,
    _marker: PhantomData<fn() -> (D, R)>,
}

impl<D: Direction, R: Role<D>> Integration<D, R> {
    fn wrap(record: IntegrationRecord) -> Self {
        Self {
            record,
            _marker: PhantomData,
        }
    }

    /// Identifier.
    pub fn id(&self) -> IntegrationId {
        self.record.id
    }

    /// Human title.
    pub fn title(&self) -> &str {
        &self.record.title
    }

    /// The direction (always `D`).
    pub fn direction(&self) -> DirectionKind {
        D::KIND
    }

    /// The role (always `R`).
    pub fn role(&self) -> RoleKind {
        R::KIND
    }

    /// The remote system.
    pub fn system(&self) -> &System {
        self.record.settings.system()
    }

    /// Connection settings.
    pub fn settings(&self) -> &RemoteSettings {
        &self.record.settings
    }

    /// Lifecycle state.
    pub fn state(&self) -> &IntegrationState {
        &self.record.state
    }

    /// The sync interval.
    pub fn schedule(&self) -> &Schedule {
        &self.record.schedule
    }

    /// The sync rules.
    pub fn rules(&self) -> &[SyncRule] {
        &self.record.rules
    }

    /// One rule by id.
    pub fn rule(&self, id: RuleId) -> Option<&SyncRule> {
        self.record.rules.iter().find(|r| r.id == id)
    }

    /// The last verified authorization ("who authorized it and when").
    pub fn authorization(&self) -> Option<&Authorization> {
        self.record.authorization.as_ref()
    }

    /// When it was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.record.created_at
    }

    /// The revision the store last saved.
    pub fn revision(&self) -> u64 {
        self.record.revision
    }

    /// The plain-data form, for persistence and display.
    pub fn record(&self) -> &IntegrationRecord {
        &self.record
    }

    /// Renames the integration.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an empty or overlong title.
    pub fn set_title(&mut self, title: impl Into<String>) -> Result<(), Error> {
        self.record.title = validate_title(title.into())?;
        Ok(())
    }

    /// Changes the sync interval.
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.record.schedule = schedule;
    }

    /// This integration's own safeguard thresholds, if it has any.
    pub fn safeguards(&self) -> Option<&Safeguards> {
        self.record.safeguards.as_ref()
    }

    /// Gives the integration its own safeguard thresholds (`None`: the service's policy).
    pub fn set_safeguards(&mut self, safeguards: Option<Safeguards>) {
        self.record.safeguards = safeguards;
    }

    /// Whether its source should push changes as they happen.
    pub fn push(&self) -> bool {
        self.record.push
    }

    /// Turns pushed changes on or off (the service opens or stops the channel).
    pub fn set_push(&mut self, push: bool) {
        self.record.push = push;
    }

    /// Adds a rule.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if a rule with the same id exists.
    ///
    /// An outbound integration's rules each manage one remote group ([`SyncRule::assigning`]),
    /// and no two manage the same group (they would undo each other), or provision users
    /// ([`SyncRule::provisioning_users`], one such rule at most), or provision groups
    /// ([`SyncRule::provisioning_groups`], one such rule at most); an inbound rule can do none
    /// of these.
    pub fn add_rule(&mut self, rule: SyncRule) -> Result<(), Error> {
        let refuse = |reason: &str| Error::InvalidValue {
            kind: "rule",
            value: rule.name.clone(),
            reason: reason.to_owned(),
        };
        if self.rule(rule.id).is_some() {
            return Err(refuse("a rule with this id already exists"));
        }
        let purposes = usize::from(rule.assignment.is_some())
            + usize::from(rule.provision_users.is_some())
            + usize::from(rule.provision_groups.is_some());
        match (D::KIND, &rule.assignment, &rule.provision_users) {
            (DirectionKind::Outbound, _, _) if purposes == 0 => {
                return Err(refuse(
                    "an outbound rule names the group it manages and who should be in it, \
                     or the users or groups it provisions",
                ));
            }
            (DirectionKind::Outbound, _, _) if purposes > 1 => {
                return Err(refuse(
                    "an outbound rule either manages a group, provisions users or provisions \
                     groups, one of them",
                ));
            }
            (DirectionKind::Inbound, Some(_), _) => {
                return Err(refuse("an inbound rule cannot manage remote groups"));
            }
            (DirectionKind::Inbound, _, Some(_)) => {
                return Err(refuse("an inbound rule cannot provision remote users"));
            }
            (DirectionKind::Inbound, _, _) if rule.provision_groups.is_some() => {
                return Err(refuse("an inbound rule cannot provision remote groups"));
            }
            (_, None, None) if rule.provision_groups.is_some() => {
                if let Some(other) = self
                    .record
                    .rules
                    .iter()
                    .find(|r| r.provision_groups.is_some())
                {
                    return Err(refuse(&format!(
                        "groups are already provisioned by rule {} ({}); one rule provisions \
                         them all",
                        other.id, other.name
                    )));
                }
            }
            (_, _, Some(_)) => {
                if let Some(other) = self
                    .record
                    .rules
                    .iter()
                    .find(|r| r.provision_users.is_some())
                {
                    return Err(refuse(&format!(
                        "users are already provisioned by rule {} ({}); one rule provisions \
                         them all",
                        other.id, other.name
                    )));
                }
            }
            (_, Some(new), _) => {
                if let Some(other) = self
                    .record
                    .rules
                    .iter()
                    .find(|r| r.assignment.as_ref().is_some_and(|a| a.group == new.group))
                {
                    return Err(refuse(&format!(
                        "group {} is already managed by rule {} ({})",
                        new.group, other.id, other.name
                    )));
                }
            }
            _ => {}
        }
        self.record.rules.push(rule);
        Ok(())
    }

    /// Removes a rule and returns it.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if there is no such rule.
    pub fn remove_rule(&mut self, id: RuleId) -> Result<SyncRule, Error> {
        match self.record.rules.iter().position(|r| r.id == id) {
            Some(i) => Ok(self.record.rules.remove(i)),
            None => Err(unknown_rule(id)),
        }
    }

    /// Records that a rule ran at `at` (the anchor of its next scheduled run) and whether the
    /// run failed (a failed rule is retried with backoff: [`crate::retry_delay`]).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] if there is no such rule.
    pub fn record_rule_run(
        &mut self,
        id: RuleId,
        at: DateTime<Utc>,
        failed: bool,
    ) -> Result<(), Error> {
        let rule = self
            .record
            .rules
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| unknown_rule(id))?;
        rule.last_run_at = Some(at);
        rule.failed_runs = if failed {
            rule.failed_runs.saturating_add(1)
        } else {
            0
        };
        Ok(())
    }

    /// The scheduled rules due at `now`; never a manual rule, and none unless the integration is
    /// [`IntegrationState::Active`].
    pub fn due_rules(&self, now: DateTime<Utc>) -> Vec<&SyncRule> {
        if !self.record.state.can_sync() {
            return Vec::new();
        }
        crate::due_rules(&self.record.schedule, &self.record.rules, now)
    }

    fn transition(&mut self, transition: Transition, reason: &str) -> Result<(), Error> {
        self.record.state = self.record.state.after(transition, reason)?;
        Ok(())
    }

    /// `Staged → Active`, recording the verified authorization.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] unless staged.
    pub fn activate(&mut self, authorization: Authorization) -> Result<(), Error> {
        self.transition(Transition::Activate, "")?;
        // A consent recorded while staged is this same authorization, now verified.
        self.record.authorization = Some(authorization);
        Ok(())
    }

    /// `Active | Failed → Inactive`.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] from any other state.
    pub fn deactivate(&mut self) -> Result<(), Error> {
        self.transition(Transition::Deactivate, "")
    }

    /// `Inactive → Active`.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] from any other state.
    pub fn reactivate(&mut self) -> Result<(), Error> {
        self.transition(Transition::Reactivate, "")
    }

    /// `Active → Failed{reason}`: a configuration error (e.g. revoked authorization) stops it.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] unless active.
    pub fn fail(&mut self, reason: impl Into<String>) -> Result<(), Error> {
        self.transition(Transition::Fail, &reason.into())
    }

    /// New credentials or subject, verified: `Failed → Active`; active and inactive
    /// integrations keep their state. This is also how a provider-managed service account is
    /// replaced by a customer-owned one. The system of the settings cannot change.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when staged (activate it instead);
    /// [`Error::InvalidValue`] if `settings` is for another system.
    pub fn reauthorize(
        &mut self,
        settings: RemoteSettings,
        authorization: Authorization,
    ) -> Result<(), Error> {
        self.check_same_system(&settings)?;
        self.transition(Transition::Reauthorize, "")?;
        self.record.settings = settings;
        self.replace_authorization(authorization);
        Ok(())
    }

    /// Records a person's consent on a staged integration, before activation verifies it
    /// (activation replaces the record with the verified one).
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] once it was activated (use [`Self::reauthorize`]).
    pub fn record_consent(&mut self, authorization: Authorization) -> Result<(), Error> {
        if self.record.state != IntegrationState::Staged {
            return Err(Error::IllegalTransition {
                from: self.record.state.clone(),
                transition: Transition::Reauthorize,
            });
        }
        self.replace_authorization(authorization);
        Ok(())
    }

    /// Makes `authorization` the current one; the one it replaces goes to the history.
    fn replace_authorization(&mut self, authorization: Authorization) {
        if let Some(previous) = self.record.authorization.take() {
            self.record.authorization_history.push(previous);
        }
        self.record.authorization = Some(authorization);
    }

    /// Replaces the connection settings of a staged integration (before activation).
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] once it was activated (use [`Self::reauthorize`]);
    /// [`Error::InvalidValue`] if `settings` is for another system.
    pub fn update_settings(&mut self, settings: RemoteSettings) -> Result<(), Error> {
        self.check_same_system(&settings)?;
        if self.record.state != IntegrationState::Staged {
            return Err(Error::IllegalTransition {
                from: self.record.state.clone(),
                transition: Transition::Reauthorize,
            });
        }
        self.record.settings = settings;
        Ok(())
    }

    fn check_same_system(&self, settings: &RemoteSettings) -> Result<(), Error> {
        if settings.system() != self.system() {
            return Err(Error::InvalidValue {
                kind: "settings",
                value: settings.system().to_string(),
                reason: format!("this integration connects to {}", self.system()),
            });
        }
        Ok(())
    }
}

fn unknown_rule(id: RuleId) -> Error {
    Error::InvalidValue {
        kind: "rule",
        value: id.to_string(),
        reason: "no such rule on this integration".to_owned(),
    }
}

impl Integration<Inbound, Primary> {
    /// The capability to write unified profiles and lifecycles. Only the primary has it.
    pub fn profile_authority(&self) -> ProfileAuthority<'_> {
        ProfileAuthority::new(self.id())
    }
}

impl<D: Direction, R: Role<D>> Clone for Integration<D, R> {
    fn clone(&self) -> Self {
        Self::wrap(self.record.clone())
    }
}

impl<D: Direction, R: Role<D>> PartialEq for Integration<D, R> {
    fn eq(&self, other: &Self) -> bool {
        self.record == other.record
    }
}

impl<D: Direction, R: Role<D>> fmt::Debug for Integration<D, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Integration")
            .field("direction", &D::KIND)
            .field("role", &R::KIND)
            .field("record", &self.record)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
