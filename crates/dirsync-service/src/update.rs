//! Editing an integration without reauthorizing it (AppsCo's Settings): title, schedule,
//! whether it runs, and its own safeguard thresholds.

use dirsync_core::{AnyIntegration, IntegrationId, IntegrationState, Safeguards, Schedule};

use crate::{Error, Service};

/// What to change in an integration; what is left unset keeps its value.
///
/// ```
/// use dirsync_core::{Interval, Schedule};
/// use dirsync_service::IntegrationUpdate;
/// let update = IntegrationUpdate::new()
///     .title("Google Workspace (acme.com)")
///     .schedule(Schedule::every(Interval::from_minutes(15)?))
///     .active(true);
/// assert!(!update.is_empty());
/// # Ok::<(), dirsync_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct IntegrationUpdate {
    /// A new title.
    pub title: Option<String>,
    /// A new schedule for its scheduled rules.
    pub schedule: Option<Schedule>,
    /// `true` resumes an inactive integration, `false` deactivates an active or failed one.
    pub active: Option<bool>,
    /// `Some(Some(_))` gives it its own safeguard thresholds, `Some(None)` returns it to the
    /// service's policy.
    pub safeguards: Option<Option<Safeguards>>,
}

impl IntegrationUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames it.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Changes its schedule.
    #[must_use]
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Resumes (`true`) or deactivates (`false`) it.
    #[must_use]
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Gives it its own safeguard thresholds (`None`: the service's policy again).
    #[must_use]
    pub fn safeguards(mut self, safeguards: Option<Safeguards>) -> Self {
        self.safeguards = Some(safeguards);
        self
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Service {
    /// Applies `update` to an integration in one save (all of it or, on an error, nothing)
    /// and returns the stored integration. Its direction, role and authorization never change
    /// here: a new key or subject is [`reauthorize`](Self::reauthorize), a staged integration
    /// is [`activate`](Self::activate)d.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad title; [`Error::WrongState`] to activate or deactivate a
    /// staged integration, or to resume a failed one (reauthorize it); a store error
    /// (`StaleIntegration` when someone else saved it meanwhile: read it again).
    pub async fn update(
        &self,
        id: IntegrationId,
        update: IntegrationUpdate,
    ) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        if let Some(title) = update.title {
            any.set_title(title)?;
        }
        if let Some(schedule) = update.schedule {
            any.set_schedule(schedule);
        }
        if let Some(safeguards) = update.safeguards {
            any.set_safeguards(safeguards);
        }
        match (update.active, any.state()) {
            (None, _)
            | (Some(true), IntegrationState::Active)
            | (Some(false), IntegrationState::Inactive) => {}
            (Some(true), IntegrationState::Inactive) => any.reactivate()?,
            (Some(false), IntegrationState::Active | IntegrationState::Failed { .. }) => {
                any.deactivate()?;
            }
            (Some(active), state) => {
                return Err(Error::WrongState {
                    integration: id,
                    state: state.name().to_owned(),
                    action: if active { "resuming" } else { "deactivating" },
                    needs: if active {
                        "inactive (activate a staged integration; reauthorize a failed one)"
                    } else {
                        "active or failed"
                    },
                });
            }
        }
        let saved = self.store.save_integration(&any).await?;
        tracing::info!(integration = %id, state = %saved.state(), "integration updated");
        Ok(saved)
    }
}
