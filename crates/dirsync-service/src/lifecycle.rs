//! The integration lifecycle: create (staged) → activate → deactivate / reactivate,
//! reauthorize, remove — for any system in the service's [`Registry`](crate::Registry).

use dirsync_core::{
    AnyIntegration, Authorization, ConnectRequest, DirectionKind, Email, IntegrationId,
    IntegrationState, KeyOwnership, NewIntegration, RemoteSettings, Schedule, ScopeFilter,
    SyncRule, SyncRun, Trigger,
};
use dirsync_store::Removed;
use serde_json::Value;

use crate::instructions::AdminInstructions;
use crate::progress::ProgressSink;
use crate::registry::synced_kinds;
use crate::{Error, Service};

/// A new integration of any registered system. Made with [`CreateIntegration::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateIntegration {
    /// A title for humans ("Google Workspace (acme.com)").
    pub title: String,
    /// Inbound (read the system into the directory) or outbound (write to it); fixed for the
    /// integration's life.
    pub direction: DirectionKind,
    /// The system and how to connect to it (checked by its connector before anything is stored).
    pub settings: RemoteSettings,
    /// When its scheduled rules run.
    pub schedule: Schedule,
}

impl CreateIntegration {
    /// An integration titled `title`, in `direction`, connecting with `settings`, whose
    /// scheduled rules run on `schedule`.
    pub fn new(
        title: impl Into<String>,
        direction: DirectionKind,
        settings: RemoteSettings,
        schedule: Schedule,
    ) -> Self {
        Self {
            title: title.into(),
            direction,
            settings,
            schedule,
        }
    }
}

/// A new Google Workspace integration, typed. Made with [`CreateGoogle::new`]; the same as a
/// [`CreateIntegration`] with Google's settings.
#[cfg(feature = "google")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateGoogle {
    /// A title for humans ("Google Workspace (acme.com)").
    pub title: String,
    /// Inbound (read Google into the directory) or outbound (manage Google groups); fixed for
    /// the integration's life.
    pub direction: DirectionKind,
    /// How to connect: subject, key, customer, API base, pacing.
    pub settings: dirsync_google::GoogleSettings,
    /// When its scheduled rules run.
    pub schedule: Schedule,
}

#[cfg(feature = "google")]
impl CreateGoogle {
    /// An integration titled `title`, in `direction`, connecting with `settings`, whose
    /// scheduled rules run on `schedule`.
    pub fn new(
        title: impl Into<String>,
        direction: DirectionKind,
        settings: dirsync_google::GoogleSettings,
        schedule: Schedule,
    ) -> Self {
        Self {
            title: title.into(),
            direction,
            settings,
            schedule,
        }
    }
}

/// A created integration and what an admin must grant before activating it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Created {
    /// The stored integration (`Staged`; [`AnyIntegration::is_primary`] says whether the
    /// store made it the primary).
    pub integration: AnyIntegration,
    /// What to grant (Google: the client id and exact scopes).
    pub instructions: AdminInstructions,
}

/// The result of an activation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Activated {
    /// The integration, now `Active`.
    pub integration: AnyIntegration,
    /// The initial sync, already recorded: inbound integrations sync the whole directory;
    /// outbound ones run the rules they already have (none, right after creation).
    pub initial_run: Option<SyncRun>,
}

/// New settings for an integration's authorization (credentials, subject, ...): each named
/// setting replaces the stored one, the others are kept. Start from [`Reauthorize::default`]
/// (nothing changes) and set what changes with [`with_setting`](Self::with_setting) or the
/// typed `with_*` methods.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Reauthorize {
    /// The settings that change, by name, as JSON.
    pub settings: serde_json::Map<String, Value>,
}

impl Reauthorize {
    /// The setting `name` becomes `value` (its JSON form, as `integration:show` prints it).
    pub fn with_setting(mut self, name: impl Into<String>, value: Value) -> Self {
        self.settings.insert(name.into(), value);
        self
    }

    /// A new delegated admin (Google's `subject`).
    pub fn with_subject(self, subject: Email) -> Self {
        self.with_setting("subject", Value::String(subject.to_string()))
    }

    /// Who owns the (new) credential: switching from a provider-managed service account to a
    /// customer-owned one is a reauthorization with a new key and
    /// [`KeyOwnership::CustomerOwned`].
    pub fn with_ownership(self, ownership: KeyOwnership) -> Self {
        let value = match ownership {
            KeyOwnership::ProviderManaged => "provider_managed",
            KeyOwnership::CustomerOwned => "customer_owned",
        };
        self.with_setting("ownership", Value::String(value.to_owned()))
    }

    /// A new service-account key (Google's `key`).
    #[cfg(feature = "google")]
    pub fn with_key(self, key: dirsync_google::KeyReference) -> Self {
        let value = serde_json::to_value(&key).unwrap_or(Value::Null);
        self.with_setting("key", value)
    }

    /// `settings` with these changes.
    fn apply_to(&self, settings: &RemoteSettings) -> Result<RemoteSettings, Error> {
        let mut fields = settings.fields().clone();
        fields.extend(self.settings.clone());
        Ok(RemoteSettings::new(
            settings.system().clone(),
            Value::Object(fields),
        )?)
    }
}

impl Service {
    /// Creates an integration of any registered system in state `Staged` and returns what an
    /// admin must grant. The settings are checked by the system's connector, and the
    /// credentials they name are read now, so a bad setting or a missing key is refused before
    /// anything is stored. The first inbound integration ever created becomes the primary. A
    /// new inbound integration gets one scheduled rule covering everything its system can be
    /// read for (remove it or add others).
    ///
    /// # Errors
    /// [`Error::UnsupportedSystem`] for a system no connector is registered for, or a
    /// direction it does not support; [`Error::Invalid`] for bad settings or title;
    /// [`Error::Credential`] for an unusable key; a store error.
    pub async fn create(&self, request: CreateIntegration) -> Result<Created, Error> {
        let kind = self.registry.get(request.settings.system())?;
        if !kind.directions().contains(&request.direction) {
            return Err(Error::UnsupportedSystem {
                system: format!("{} ({} integrations)", kind.name(), request.direction),
            });
        }
        kind.validate_settings(&request.settings)?;
        let now = self.clock.now();
        let new = NewIntegration::new(
            request.title,
            request.direction,
            request.settings,
            request.schedule,
            now,
        )?;
        let kinds = synced_kinds(kind.as_ref(), request.direction, new.settings(), &[])?;
        let grant = kind.grant(&ConnectRequest::new(
            new.id(),
            request.direction,
            new.settings(),
            &kinds,
        ))?;
        let mut any = self.store.create_integration(new).await?;
        if request.direction == DirectionKind::Inbound {
            any.add_rule(SyncRule::new(
                "Whole directory",
                kinds,
                ScopeFilter::everything(),
                Trigger::Scheduled,
                now,
            ))?;
            any = self.store.save_integration(&any).await?;
        }
        Ok(Created {
            instructions: AdminInstructions::new(kind.name(), grant),
            integration: any,
        })
    }

    /// Creates a Google Workspace integration: [`create`](Self::create) with Google's typed
    /// settings.
    ///
    /// # Errors
    /// As [`create`](Self::create).
    #[cfg(feature = "google")]
    pub async fn create_google(&self, request: CreateGoogle) -> Result<Created, Error> {
        let settings = RemoteSettings::from_typed(&request.settings)?;
        self.create(CreateIntegration::new(
            request.title,
            request.direction,
            settings,
            request.schedule,
        ))
        .await
    }

    /// What an admin must grant for an existing integration (e.g. to show again, or after a
    /// new key).
    ///
    /// # Errors
    /// [`Error::Credential`] for an unusable key; [`Error::UnsupportedSystem`]; a store error.
    pub async fn instructions(&self, id: IntegrationId) -> Result<AdminInstructions, Error> {
        let any = self.store.integration(id).await?;
        let kind = self.registry.get(any.settings().system())?;
        let kinds = synced_kinds(
            kind.as_ref(),
            any.direction(),
            any.settings(),
            &any.record().rules,
        )?;
        let grant = kind.grant(&ConnectRequest::new(
            id,
            any.direction(),
            any.settings(),
            &kinds,
        ))?;
        Ok(AdminInstructions::new(kind.name(), grant))
    }

    /// Activates a staged integration: checks every required scope with its own token request
    /// (and each API once), records who authorized it and when, sets it `Active` and runs the
    /// initial sync of org units, users, groups and memberships (inbound).
    ///
    /// A missing scope leaves the integration `Staged` and is reported by name
    /// ([`Error::Access`] with `MissingScopes`); so is a refused key or subject
    /// (`Unauthorized`) or another failed access check (`ChecksFailed`).
    /// The initial sync's outcome is in [`Activated::initial_run`]; a failed initial sync leaves
    /// the integration active (the next run retries).
    ///
    /// # Errors
    /// [`Error::WrongState`] unless staged; [`Error::Access`]; [`Error::Credential`]; a
    /// connector or store error.
    pub async fn activate(
        &self,
        id: IntegrationId,
        progress: &dyn ProgressSink,
    ) -> Result<Activated, Error> {
        let mut any = self.store.integration(id).await?;
        if *any.state() != IntegrationState::Staged {
            return Err(Error::WrongState {
                integration: id,
                state: any.state().to_string(),
                action: "activation",
                needs: "staged (use reauthorize otherwise)",
            });
        }
        let authorization = self.verify(&any, any.settings()).await?;
        any.activate(authorization)?;
        let any = self.store.save_integration(&any).await?;
        tracing::info!(integration = %id, "integration activated");
        let initial_run =
            if any.direction() == DirectionKind::Inbound || !any.record().rules.is_empty() {
                Some(self.run(id, None, progress).await?)
            } else {
                None
            };
        Ok(Activated {
            integration: self.store.integration(id).await?,
            initial_run,
        })
    }

    /// Verifies access with `settings` and returns the authorization record to store.
    pub(crate) async fn verify(
        &self,
        any: &AnyIntegration,
        settings: &RemoteSettings,
    ) -> Result<Authorization, Error> {
        let connection = self.connect(any, settings)?;
        let report = connection.source.validate_access().await?;
        Ok(report.into_authorization(self.clock.now())?)
    }

    /// `Active | Failed → Inactive`: scheduled rules stop running; nothing is deleted.
    ///
    /// # Errors
    /// [`Error::Invalid`] (an illegal transition) from other states; a store error.
    pub async fn deactivate(&self, id: IntegrationId) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        any.deactivate()?;
        let saved = self.store.save_integration(&any).await?;
        if let Err(e) = self.stop_channels(&saved).await {
            tracing::warn!(integration = %id, error = %e, "stopping the push channel failed; it expires on its own");
        }
        Ok(saved)
    }

    /// `Inactive → Active`.
    ///
    /// # Errors
    /// [`Error::Invalid`] (an illegal transition) from other states; a store error.
    pub async fn reactivate(&self, id: IntegrationId) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        any.reactivate()?;
        Ok(self.store.save_integration(&any).await?)
    }

    /// New settings for the authorization (Google: key, subject or ownership). A staged integration just takes the new settings (they are
    /// verified at activation). Otherwise access is verified with the new settings first; on
    /// success they and the new authorization are stored and a `Failed` integration becomes
    /// `Active` again, and on failure nothing changes.
    ///
    /// # Errors
    /// [`Error::Access`], [`Error::Credential`], [`Error::Invalid`] for settings the connector
    /// refuses; a store error.
    pub async fn reauthorize(
        &self,
        id: IntegrationId,
        change: Reauthorize,
    ) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        let settings = change.apply_to(any.settings())?;
        let kind = self.registry.get(settings.system())?;
        kind.validate_settings(&settings)?;
        if *any.state() == IntegrationState::Staged {
            let kinds = synced_kinds(
                kind.as_ref(),
                any.direction(),
                &settings,
                &any.record().rules,
            )?;
            kind.grant(&ConnectRequest::new(id, any.direction(), &settings, &kinds))?;
            any.update_settings(settings)?;
        } else {
            let authorization = self.verify(&any, &settings).await?;
            any.reauthorize(settings, authorization)?;
        }
        let saved = self.store.save_integration(&any).await?;
        tracing::info!(integration = %id, state = %saved.state(), "integration reauthorized");
        Ok(saved)
    }

    /// Removes an integration with the accounts, groups, memberships and org units it owns.
    /// The primary is refused while the directory holds data it owns.
    ///
    /// # Errors
    /// A store error (`PrimaryOwnsData`, `NotFound`, `Leased` while a run holds it).
    pub async fn remove(&self, id: IntegrationId) -> Result<Removed, Error> {
        let any = self.store.integration(id).await?;
        if let Err(e) = self.stop_channels(&any).await {
            tracing::warn!(integration = %id, error = %e, "stopping the push channel failed; it expires on its own");
        }
        let removed = self.store.remove_integration(id).await?;
        #[cfg(feature = "google")]
        self.revoke_consent(&any).await;
        self.forget_scim_token(&any);
        if let Ok(kind) = self.registry.get(any.settings().system()) {
            kind.forget(id);
        }
        Ok(removed)
    }
}
