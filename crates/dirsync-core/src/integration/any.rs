//! [`AnyIntegration`]: an integration whose direction and role are known only at runtime.

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::{IntegrationId, RuleId, Safeguards, Schedule, SyncRule};

use super::{
    Authorization, DirectionKind, Inbound, Integration, IntegrationRecord, IntegrationState,
    Outbound, Primary, RemoteSettings, RoleKind, Secondary,
};

/// An integration whose direction and role are known only at runtime, parsed once at the store
/// boundary. Match on it to get the typed form.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyIntegration {
    /// The primary (first inbound) integration.
    Primary(Integration<Inbound, Primary>),
    /// A secondary inbound integration.
    Inbound(Integration<Inbound, Secondary>),
    /// An outbound integration.
    Outbound(Integration<Outbound, Secondary>),
}

macro_rules! each {
    ($self:expr, $i:ident => $e:expr) => {
        match $self {
            AnyIntegration::Primary($i) => $e,
            AnyIntegration::Inbound($i) => $e,
            AnyIntegration::Outbound($i) => $e,
        }
    };
}

impl AnyIntegration {
    /// For store backends (feature `backend`): the typed form of a persisted record. This is the
    /// one door through which a primary enters the program, so only stores call it (code built
    /// without the feature cannot), and every store re-checks on write that profile changes come
    /// from the integration it recorded as primary.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for an outbound record with the primary role.
    #[cfg(any(test, feature = "backend"))]
    pub fn from_record(record: IntegrationRecord) -> Result<Self, Error> {
        match (record.direction, record.role) {
            (DirectionKind::Inbound, RoleKind::Primary) => {
                Ok(Self::Primary(Integration::wrap(record)))
            }
            (DirectionKind::Inbound, RoleKind::Secondary) => {
                Ok(Self::Inbound(Integration::wrap(record)))
            }
            (DirectionKind::Outbound, RoleKind::Secondary) => {
                Ok(Self::Outbound(Integration::wrap(record)))
            }
            (DirectionKind::Outbound, RoleKind::Primary) => Err(Error::InvalidValue {
                kind: "integration record",
                value: record.id.to_string(),
                reason: "an outbound integration cannot be primary".to_owned(),
            }),
        }
    }

    /// The plain-data form.
    pub fn record(&self) -> &IntegrationRecord {
        each!(self, i => i.record())
    }

    /// The plain-data form, by value.
    pub fn into_record(self) -> IntegrationRecord {
        each!(self, i => i.record)
    }

    /// Identifier.
    pub fn id(&self) -> IntegrationId {
        self.record().id
    }

    /// Human title.
    pub fn title(&self) -> &str {
        &self.record().title
    }

    /// Direction.
    pub fn direction(&self) -> DirectionKind {
        self.record().direction
    }

    /// Role.
    pub fn role(&self) -> RoleKind {
        self.record().role
    }

    /// The revision the store last saved.
    pub fn revision(&self) -> u64 {
        self.record().revision
    }

    /// Whether this is the primary.
    pub fn is_primary(&self) -> bool {
        matches!(self, Self::Primary(_))
    }

    /// Lifecycle state.
    pub fn state(&self) -> &IntegrationState {
        &self.record().state
    }

    /// The primary, if this is it.
    pub fn into_primary(self) -> Option<Integration<Inbound, Primary>> {
        match self {
            Self::Primary(p) => Some(p),
            _ => None,
        }
    }

    /// The outbound integration, if this is one.
    pub fn into_outbound(self) -> Option<Integration<Outbound, Secondary>> {
        match self {
            Self::Outbound(o) => Some(o),
            _ => None,
        }
    }

    /// The secondary inbound integration, if this is one.
    pub fn into_secondary_inbound(self) -> Option<Integration<Inbound, Secondary>> {
        match self {
            Self::Inbound(i) => Some(i),
            _ => None,
        }
    }

    /// The connection settings.
    pub fn settings(&self) -> &RemoteSettings {
        &self.record().settings
    }

    // The lifecycle and rule edits below are the same for every direction and role (they never
    // touch either), so they are offered here too, for code that holds an integration loaded
    // from a store. Each delegates to the typed method of the same name.

    /// See [`Integration::set_title`].
    ///
    /// # Errors
    /// As [`Integration::set_title`].
    pub fn set_title(&mut self, title: impl Into<String>) -> Result<(), Error> {
        each!(self, i => i.set_title(title))
    }

    /// See [`Integration::set_schedule`].
    pub fn set_schedule(&mut self, schedule: Schedule) {
        each!(self, i => i.set_schedule(schedule))
    }

    /// See [`Integration::set_safeguards`].
    pub fn set_safeguards(&mut self, safeguards: Option<Safeguards>) {
        each!(self, i => i.set_safeguards(safeguards))
    }

    /// Whether its source should push changes as they happen ([`Integration::push`]).
    pub fn push(&self) -> bool {
        self.record().push
    }

    /// See [`Integration::set_push`].
    pub fn set_push(&mut self, push: bool) {
        each!(self, i => i.set_push(push))
    }

    /// See [`Integration::add_rule`].
    ///
    /// # Errors
    /// As [`Integration::add_rule`].
    pub fn add_rule(&mut self, rule: SyncRule) -> Result<(), Error> {
        each!(self, i => i.add_rule(rule))
    }

    /// See [`Integration::remove_rule`].
    ///
    /// # Errors
    /// As [`Integration::remove_rule`].
    pub fn remove_rule(&mut self, id: RuleId) -> Result<SyncRule, Error> {
        each!(self, i => i.remove_rule(id))
    }

    /// See [`Integration::record_rule_run`].
    ///
    /// # Errors
    /// As [`Integration::record_rule_run`].
    pub fn record_rule_run(
        &mut self,
        id: RuleId,
        at: DateTime<Utc>,
        failed: bool,
    ) -> Result<(), Error> {
        each!(self, i => i.record_rule_run(id, at, failed))
    }

    /// See [`Integration::due_rules`].
    pub fn due_rules(&self, now: DateTime<Utc>) -> Vec<&SyncRule> {
        each!(self, i => i.due_rules(now))
    }

    /// See [`Integration::activate`].
    ///
    /// # Errors
    /// As [`Integration::activate`].
    pub fn activate(&mut self, authorization: Authorization) -> Result<(), Error> {
        each!(self, i => i.activate(authorization))
    }

    /// See [`Integration::deactivate`].
    ///
    /// # Errors
    /// As [`Integration::deactivate`].
    pub fn deactivate(&mut self) -> Result<(), Error> {
        each!(self, i => i.deactivate())
    }

    /// See [`Integration::reactivate`].
    ///
    /// # Errors
    /// As [`Integration::reactivate`].
    pub fn reactivate(&mut self) -> Result<(), Error> {
        each!(self, i => i.reactivate())
    }

    /// See [`Integration::fail`].
    ///
    /// # Errors
    /// As [`Integration::fail`].
    pub fn fail(&mut self, reason: impl Into<String>) -> Result<(), Error> {
        each!(self, i => i.fail(reason))
    }

    /// See [`Integration::reauthorize`].
    ///
    /// # Errors
    /// As [`Integration::reauthorize`].
    pub fn reauthorize(
        &mut self,
        settings: RemoteSettings,
        authorization: Authorization,
    ) -> Result<(), Error> {
        each!(self, i => i.reauthorize(settings, authorization))
    }

    /// See [`Integration::update_settings`].
    ///
    /// # Errors
    /// As [`Integration::update_settings`].
    pub fn update_settings(&mut self, settings: RemoteSettings) -> Result<(), Error> {
        each!(self, i => i.update_settings(settings))
    }

    /// See [`Integration::record_consent`].
    ///
    /// # Errors
    /// As [`Integration::record_consent`].
    pub fn record_consent(&mut self, authorization: Authorization) -> Result<(), Error> {
        each!(self, i => i.record_consent(authorization))
    }
}

impl From<Integration<Inbound, Primary>> for AnyIntegration {
    fn from(i: Integration<Inbound, Primary>) -> Self {
        Self::Primary(i)
    }
}

impl From<Integration<Inbound, Secondary>> for AnyIntegration {
    fn from(i: Integration<Inbound, Secondary>) -> Self {
        Self::Inbound(i)
    }
}

impl From<Integration<Outbound, Secondary>> for AnyIntegration {
    fn from(i: Integration<Outbound, Secondary>) -> Self {
        Self::Outbound(i)
    }
}
