//! The integration lifecycle: create (staged) → activate → deactivate / reactivate,
//! reauthorize, remove.

use dirsync_core::{
    AnyIntegration, Authorization, DirectionKind, Email, GoogleSettings, IntegrationId,
    IntegrationState, KeyOwnership, KeyReference, NewIntegration, ObjectKinds, RemoteSettings,
    Schedule, ScopeFilter, SyncRule, SyncRun, Trigger,
};
use dirsync_store::Removed;

use crate::instructions::AdminInstructions;
use crate::progress::ProgressSink;
use crate::service::required_scopes;
use crate::{Error, Service};

/// A new Google Workspace integration. Made with [`CreateGoogle::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateGoogle {
    /// A title for humans ("Google Workspace (acme.com)").
    pub title: String,
    /// Inbound (read Google into the directory) or outbound (manage Google groups); fixed for
    /// the integration's life.
    pub direction: DirectionKind,
    /// How to connect: subject, key, customer, API base, pacing.
    pub settings: GoogleSettings,
    /// When its scheduled rules run.
    pub schedule: Schedule,
}

impl CreateGoogle {
    /// An integration titled `title`, in `direction`, connecting with `settings`, whose
    /// scheduled rules run on `schedule`.
    pub fn new(
        title: impl Into<String>,
        direction: DirectionKind,
        settings: GoogleSettings,
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

/// A created integration and what the Workspace admin must grant before activating it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Created {
    /// The stored integration (`Staged`; [`AnyIntegration::is_primary`] says whether the
    /// store made it the primary).
    pub integration: AnyIntegration,
    /// The client id and exact scopes to grant.
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

/// New credentials or subject for an integration. Fields left `None` keep their value. Start
/// from [`Reauthorize::default`] (nothing changes) and set what changes with the `with_*`
/// methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reauthorize {
    /// A new delegated admin.
    pub subject: Option<Email>,
    /// A new service-account key.
    pub key: Option<KeyReference>,
    /// Who owns the (new) service account: switching from a provider-managed service account
    /// to a customer-owned one is a reauthorization with a new key and
    /// [`KeyOwnership::CustomerOwned`].
    pub ownership: Option<KeyOwnership>,
}

impl Reauthorize {
    /// A new delegated admin.
    pub fn with_subject(mut self, subject: Email) -> Self {
        self.subject = Some(subject);
        self
    }

    /// A new service-account key.
    pub fn with_key(mut self, key: KeyReference) -> Self {
        self.key = Some(key);
        self
    }

    /// Who owns the (new) service account.
    pub fn with_ownership(mut self, ownership: KeyOwnership) -> Self {
        self.ownership = Some(ownership);
        self
    }
}

impl Service {
    /// Creates a Google integration in state `Staged` and returns what the Workspace super admin
    /// must grant. The first inbound integration ever created becomes the primary. A new inbound
    /// integration gets one scheduled rule covering everything (remove it or add others).
    ///
    /// The key is read now, so a missing or malformed key is refused before anything is stored.
    ///
    /// # Errors
    /// [`Error::Key`] for an unusable key; [`Error::Invalid`] for a bad title; a store error.
    pub async fn create_google(&self, request: CreateGoogle) -> Result<Created, Error> {
        let subject = request.settings.subject.clone();
        let settings = RemoteSettings::GoogleWorkspace(request.settings);
        let credentials = self.connectors.credentials(&settings)?;
        let now = self.clock.now();
        let new = NewIntegration::new(
            request.title,
            request.direction,
            settings,
            request.schedule,
            now,
        )?;
        let mut any = self.store.create_integration(new).await?;
        if request.direction == DirectionKind::Inbound {
            any.add_rule(SyncRule::new(
                "Whole directory",
                ObjectKinds::all(),
                ScopeFilter::everything(),
                Trigger::Scheduled,
                now,
            ))?;
            any = self.store.save_integration(&any).await?;
        }
        Ok(Created {
            instructions: AdminInstructions {
                client_id: credentials.client_id,
                client_email: credentials.client_email,
                subject,
                scopes: required_scopes(request.direction).into_iter().collect(),
            },
            integration: any,
        })
    }

    /// What the Workspace admin must grant for an existing integration (e.g. to show again,
    /// or after a new key).
    ///
    /// # Errors
    /// [`Error::Key`] for an unusable key; a store error.
    pub async fn instructions(&self, id: IntegrationId) -> Result<AdminInstructions, Error> {
        let any = self.store.integration(id).await?;
        let credentials = self.connectors.credentials(any.settings())?;
        let RemoteSettings::GoogleWorkspace(google) = any.settings() else {
            return Err(Error::UnsupportedSystem {
                system: any.settings().system().to_string(),
            });
        };
        Ok(AdminInstructions {
            client_id: credentials.client_id,
            client_email: credentials.client_email,
            subject: google.subject.clone(),
            scopes: required_scopes(any.direction()).into_iter().collect(),
        })
    }

    /// Activates a staged integration: checks every required scope with its own token request
    /// (and each API once), records who authorized it and when, sets it `Active` and runs the
    /// initial sync of org units, users, groups and memberships (inbound).
    ///
    /// A missing scope leaves the integration `Staged` and is reported by name
    /// ([`Error::MissingScopes`]); so is a refused key or subject ([`Error::Unauthorized`]).
    /// The initial sync's outcome is in [`Activated::initial_run`]; a failed initial sync leaves
    /// the integration active (the next run retries).
    ///
    /// # Errors
    /// [`Error::WrongState`] unless staged; [`Error::MissingScopes`]; [`Error::Unauthorized`];
    /// a connector or store error.
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
    async fn verify(
        &self,
        any: &AnyIntegration,
        settings: &RemoteSettings,
    ) -> Result<Authorization, Error> {
        let RemoteSettings::GoogleWorkspace(google) = settings else {
            return Err(Error::UnsupportedSystem {
                system: settings.system().to_string(),
            });
        };
        let connection = self.connect(any, settings)?;
        let report = connection
            .source
            .validate_access()
            .await
            .map_err(Error::from_remote)?;
        report
            .into_authorization(google.ownership, self.clock.now())
            .map_err(Error::from_remote)
    }

    /// `Active | Failed → Inactive`: scheduled rules stop running; nothing is deleted.
    ///
    /// # Errors
    /// [`Error::Invalid`] (an illegal transition) from other states; a store error.
    pub async fn deactivate(&self, id: IntegrationId) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        any.deactivate()?;
        Ok(self.store.save_integration(&any).await?)
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

    /// New key, subject or ownership. A staged integration just takes the new settings (they are
    /// verified at activation). Otherwise access is verified with the new settings first; on
    /// success they and the new authorization are stored and a `Failed` integration becomes
    /// `Active` again, and on failure nothing changes.
    ///
    /// # Errors
    /// [`Error::MissingScopes`], [`Error::Unauthorized`], [`Error::Key`]; a store error.
    pub async fn reauthorize(
        &self,
        id: IntegrationId,
        change: Reauthorize,
    ) -> Result<AnyIntegration, Error> {
        let mut any = self.store.integration(id).await?;
        let RemoteSettings::GoogleWorkspace(mut google) = any.settings().clone() else {
            return Err(Error::UnsupportedSystem {
                system: any.settings().system().to_string(),
            });
        };
        if let Some(subject) = change.subject {
            google.subject = subject;
        }
        if let Some(key) = change.key {
            google.key = key;
        }
        if let Some(ownership) = change.ownership {
            google.ownership = ownership;
        }
        let settings = RemoteSettings::GoogleWorkspace(google);
        if *any.state() == IntegrationState::Staged {
            self.connectors.credentials(&settings)?;
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
        let removed = self.store.remove_integration(id).await?;
        self.connectors.forget(id);
        Ok(removed)
    }
}
